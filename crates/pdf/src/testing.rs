//! Generated PDFs for the tests of this crate and of the crates built on it (feature
//! `testing`): a minimal one-page file, a hybrid-reference file, and the cross-reference quirks
//! of real writers with qpdf as the judge of which a reader must accept.

/// A minimal one-page PDF with a classic cross-reference table.
pub fn simple_pdf() -> Vec<u8> {
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        "<< /Length 7 >>\nstream\nBT ET q\nendstream",
    ];
    crate::writer::whole_file(&objs)
}

/// A hybrid-reference file: the table lists top-level objects, the /XRefStm stream the
/// page stored in an object stream.
pub fn hybrid_pdf() -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let o1 = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    let o2 = out.len();
    out.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    let body = b"3 0 << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>";
    let o4 = out.len();
    out.extend_from_slice(
        format!(
            "4 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Length {} >>\nstream\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let o5 = out.len();
    let mut data = Vec::new();
    for (t, a, b) in [(2u8, 4u32, 0u16), (1, o4 as u32, 0), (1, o5 as u32, 0)] {
        data.push(t);
        data.extend_from_slice(&a.to_be_bytes());
        data.extend_from_slice(&b.to_be_bytes());
    }
    out.extend_from_slice(
        format!(
            "5 0 obj\n<< /Type /XRef /Size 6 /Index [3 3] /W [1 4 2] /Length {} >>\nstream\n",
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 3\n0000000000 65535 f \n");
    for o in [o1, o2] {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 6 /Root 1 0 R /XRefStm {o5} >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

pub mod quirks {
    //! Cross-reference quirks of real writers, generated from [`simple_pdf`], and qpdf as the
    //! judge of which of them a reader must take as they are.

    use super::simple_pdf;

    /// `qpdf --check` on `pdf`: `Some(true)` when it opens the file without a warning; `None`
    /// when qpdf is not installed (test skipped), unless VANTHU_REQUIRE_TOOLS=1 says it must be.
    pub fn qpdf_clean(pdf: &[u8]) -> Option<bool> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("check.pdf");
        std::fs::write(&path, pdf).unwrap();
        let Ok(out) = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
        else {
            assert!(
                std::env::var("VANTHU_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "qpdf missing"
            );
            eprintln!("SKIPPED: qpdf not found");
            return None;
        };
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        Some(out.status.success() && !text.contains("WARNING"))
    }

    /// `pdf` with `from` replaced by `to` in its cross-reference section and trailer (`all`:
    /// every occurrence there, else the first). Nothing before the section moves, so the
    /// object offsets stay right.
    fn replace_in(pdf: &[u8], from: &str, to: &str, all: bool) -> Vec<u8> {
        let at = crate::reader::rfind(pdf, b"\nxref\n").unwrap();
        let (head, mut tail) = (&pdf[..at], &pdf[at..]);
        let mut out = head.to_vec();
        let mut replaced = false;
        while let Some(i) = crate::reader::find(tail, from.as_bytes()).filter(|_| all || !replaced)
        {
            out.extend_from_slice(&tail[..i]);
            out.extend_from_slice(to.as_bytes());
            tail = &tail[i + from.len()..];
            replaced = true;
        }
        assert!(replaced, "{from:?}");
        out.extend_from_slice(tail);
        out
    }

    fn replace(pdf: &[u8], from: &str, to: &str) -> Vec<u8> {
        replace_in(pdf, from, to, false)
    }

    /// A one-page file whose only cross-reference section is a stream, with `trailer` keys
    /// added to the stream dictionary.
    pub fn xref_stream_pdf(trailer: &str) -> Vec<u8> {
        let objs = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            "<< /Length 7 >>\nstream\nBT ET q\nendstream",
        ];
        let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut rows = vec![0u8, 0, 0, 0, 0, 0xff, 0xff];
        for (i, o) in objs.iter().enumerate() {
            rows.push(1);
            rows.extend_from_slice(&(out.len() as u32).to_be_bytes());
            rows.extend_from_slice(&[0, 0]);
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        rows.push(1);
        rows.extend_from_slice(&(xref as u32).to_be_bytes());
        rows.extend_from_slice(&[0, 0]);
        out.extend_from_slice(
            format!(
                "5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R{trailer} /Length {} >>\nstream\n",
                rows.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&rows);
        out.extend_from_slice(
            format!("\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        out
    }

    /// Files with cross-reference quirks that qpdf opens without a warning.
    pub fn readable() -> Vec<(&'static str, Vec<u8>)> {
        let pdf = simple_pdf();
        let startxref = String::from_utf8_lossy(&pdf)
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string();
        vec![
            (
                "/Prev 0 in the first trailer",
                replace(&pdf, "/Root 1 0 R", "/Root 1 0 R /Prev 0"),
            ),
            (
                "/Prev 0 in a cross-reference stream",
                xref_stream_pdf(" /Prev 0"),
            ),
            ("no %%EOF", pdf[..pdf.len() - 6].to_vec()),
            (
                "entries ending CR LF",
                replace(&pdf, " 00000 n \n", " 00000 n\r\n"),
            ),
            ("19-byte entries", replace_in(&pdf, " n \n", " n\n", true)),
            (
                "subsection from object 1",
                replace(&pdf, "0 5\n0000000000 65535 f \n", "1 4\n"),
            ),
            (
                "free head with generation 0",
                replace(&pdf, "65535 f", "00000 f"),
            ),
            (
                "spaces in a subsection header",
                replace(&pdf, "0 5\n", "0  5  \n"),
            ),
            (
                "startxref with leading zeros",
                replace(
                    &pdf,
                    &format!("startxref\n{startxref}"),
                    &format!("startxref\n000{startxref}"),
                ),
            ),
            (
                "trailer dictionary on the keyword's line",
                replace(&pdf, "trailer\n<<", "trailer<<"),
            ),
            (
                "NUL padding after %%EOF",
                [pdf.as_slice(), &[0u8; 100]].concat(),
            ),
        ]
    }

    /// Files whose cross-reference qpdf calls damaged.
    pub fn damaged() -> Vec<(&'static str, Vec<u8>)> {
        let pdf = simple_pdf();
        let at = crate::reader::rfind(&pdf, b"startxref\n").unwrap() + 10;
        let off: usize = String::from_utf8_lossy(&pdf[at..])
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        vec![
            (
                "startxref one byte late",
                [&pdf[..at], format!("{}\n%%EOF\n", off + 1).as_bytes()].concat(),
            ),
            (
                "/Prev -1",
                replace(&pdf, "/Root 1 0 R", "/Root 1 0 R /Prev -1"),
            ),
            (
                "/Prev beyond the file",
                replace(&pdf, "/Root 1 0 R", "/Root 1 0 R /Prev 999999"),
            ),
        ]
    }
}
