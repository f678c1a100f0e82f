//! Legal files that other tools produce and the verifier must not call tampered: BER, SHA-1
//! time-stamps, CMS without signed attributes, duplicate unsigned attributes, differently
//! encoded names, nested signature fields, other algorithms, cross-reference quirks. Every
//! input is generated here (openssl CLI, the openssl crate, small byte-level builders).

use super::*;
use crate::pdf::reader::tests_support::simple_pdf;
use crate::sign::{sign_bytes, SignOptions};
use crate::signer::tests::{dev, rsa_signer};

fn trusted() -> VerifyOptions {
    VerifyOptions {
        anchors: TrustAnchors::from_path(&dev("root-ca.pem")).unwrap(),
        offline: true,
        now: None,
    }
}

fn report_of(pdf: &[u8]) -> Report {
    verify_bytes(pdf, &trusted()).unwrap()
}

/// Each signature's line in a summary (the first line is the verdict).
fn signature_lines(summary: &str) -> Vec<&str> {
    summary.lines().skip(1).collect()
}

/// Every warning the English summary quotes must be in the Vietnamese one, translated.
fn assert_summaries_carry_the_same_warnings(report: &Report) -> usize {
    let en = signature_lines(&report.summary_en);
    let vi = signature_lines(&report.summary_vi);
    assert_eq!(en.len(), report.signatures.len(), "{}", report.summary_en);
    assert_eq!(vi.len(), report.signatures.len(), "{}", report.summary_vi);
    assert_eq!(
        report
            .signatures
            .iter()
            .map(|s| s.problems.len())
            .sum::<usize>(),
        report
            .signatures
            .iter()
            .map(|s| s.problems_vi.len())
            .sum::<usize>()
    );
    let mut quoted = 0;
    for (i, sig) in report.signatures.iter().enumerate() {
        for (k, warning) in sig.problems.iter().enumerate() {
            if !en[i].contains(warning.as_str()) {
                continue;
            }
            quoted += 1;
            let translated = &sig.problems_vi[k];
            assert_ne!(translated, warning, "not translated");
            assert!(
                vi[i].contains(translated.as_str()),
                "the Vietnamese summary lacks {translated:?} (English: {warning:?}):\n{}",
                report.summary_vi
            );
        }
    }
    quoted
}

#[test]
fn vietnamese_summary_carries_every_warning_of_the_english_one() {
    let signed = sign_bytes(
        &simple_pdf(),
        &rsa_signer(),
        &SignOptions {
            field_name: Some("Signature1".into()),
            ..SignOptions::default()
        },
    )
    .unwrap()
    .0;
    let mut tampered = signed.clone();
    let at = tampered.windows(5).position(|w| w == b"BT ET").unwrap();
    tampered[at] = b'X';
    let reader = Reader::new(signed.as_slice()).unwrap();
    let (prev, size) = (
        reader.startxref(),
        reader.trailer().get_int("Size").unwrap(),
    );
    let mut changed = signed.clone();
    let obj = changed.len();
    changed.extend_from_slice(b"4 0 obj\n<< /Length 5 >>\nstream\nQ q Q\nendstream\nendobj\n");
    let xref = changed.len();
    changed.extend_from_slice(
        format!(
            "xref\n4 1\n{obj:010} 00000 n \ntrailer\n<< /Size {size} /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    let untrusted = verify_bytes(
        &signed,
        &VerifyOptions {
            offline: true,
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    let cases = [
        (report_of(&signed), Verdict::Valid),
        (untrusted, Verdict::Untrusted),
        (report_of(&tampered), Verdict::Invalid),
        (report_of(&changed), Verdict::Modified),
    ];
    for (report, verdict) in cases {
        assert_eq!(report.verdict, verdict, "{}", report.to_json());
        let quoted = assert_summaries_carry_the_same_warnings(&report);
        assert!(quoted > 0, "no warning quoted: {}", report.summary_en);
    }
    // The soft-fail note of a valid signature, named in the issue.
    let valid = report_of(&signed);
    assert!(
        valid.summary_en.contains("checked soft-fail"),
        "{}",
        valid.summary_en
    );
    assert!(
        valid.summary_vi.contains("soft-fail"),
        "{}",
        valid.summary_vi
    );
}

#[test]
fn summaries_show_time_stamp_times_in_indochina_time() {
    let signed = sign_bytes(
        &simple_pdf(),
        &rsa_signer(),
        &SignOptions {
            field_name: Some("Signature1".into()),
            level: crate::sign::Level::BT,
            tsa_url: Some(crate::tsa::tests::spawn_http_tsa()),
            ..SignOptions::default()
        },
    )
    .unwrap()
    .0;
    let report = report_of(&signed);
    let utc = report.signatures[0].timestamp_time.clone().unwrap();
    assert!(utc.ends_with('Z'), "{utc}");
    let local = DateTime::parse_from_rfc3339(&utc)
        .unwrap()
        .with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    for summary in [&report.summary_en, &report.summary_vi] {
        assert!(summary.contains(&local), "{local} missing from {summary}");
        assert!(!summary.contains(&utc), "{summary}");
    }
}
