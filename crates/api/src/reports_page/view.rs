//! The markup of the auditors' page: maud escapes every value written into it (unit names,
//! usernames, the signed note), and the page's only style is [`STYLE`], allowed by its hash.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use vanthu_domain::{Unit, User};
use vanthu_reports::{Ratio, Ratios};
use vanthu_routing::vietnam;
use vanthu_store::StoredCheckpoint;

use super::chart::{self, Bar};
use super::{LOGIN_PATH, LOGOUT_PATH, PATH};
use crate::reports::RatioReport;

/// The page's one style sheet, inline; the Content-Security-Policy allows exactly this text.
pub const STYLE: &str = "\
body{font-family:system-ui,'Segoe UI',Roboto,'Noto Sans',sans-serif;margin:0;color:#1d2733;background:#f5f7fa}\
header{background:#7a1f1f;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}\
header h1{font-size:1.3em;margin:0}header form{display:inline}\
main{padding:16px 24px}section{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:12px 16px;margin-bottom:16px}\
h2{font-size:1.1em;margin:4px 0 12px}.en{color:#66707c;font-weight:normal;font-size:.85em}header .en{color:#f0d8d8}\
.error{background:#fdecea;border:1px solid #e0a39c;color:#7a1f1f;padding:8px 12px;border-radius:6px}\
form.query label{margin-right:16px}button{padding:4px 12px}\
table{border-collapse:collapse;font-size:.85em;width:100%}th,td{border:1px solid #d5dbe3;padding:4px 6px;text-align:right}\
th{background:#eef1f5}td.name,th.name{text-align:left}tr.level td{background:#f8f5ec}tr.total td{background:#eef5ee;font-weight:bold}\
td small{display:block;color:#66707c}.chart .track{fill:#e8ecf1}.chart .bar{fill:#2f6f9f}\
.chart text{font-size:12px;fill:#1d2733}pre{background:#f0f2f5;padding:8px;overflow-x:auto}\
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dd{margin:0;font-family:monospace}";

/// A count as Vietnamese writes it: 5.789.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(d);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// A percentage as Vietnamese writes it, 91,5 %; a dash without a denominator.
pub fn percent(r: &Ratio) -> String {
    match r.percent {
        Some(p) => format!("{},{} %", p.tenths() / 10, p.tenths() % 10),
        None => "—".to_owned(),
    }
}

/// Numerator over denominator: 5.789/6.324.
pub fn fraction(r: &Ratio) -> String {
    format!("{}/{}", count(r.count), count(r.of))
}

/// What went wrong, in Vietnamese, with the English beside it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The Vietnamese sentence.
    pub vi: String,
    /// The English one.
    pub en: String,
}

/// The signed-in user the page is for.
pub struct Viewer<'a> {
    /// Their account.
    pub user: &'a User,
    /// Their unit.
    pub unit: &'a Unit,
}

/// The form's choices and values.
pub struct Choices {
    /// The units the viewer may read reports of, parents first.
    pub units: Vec<Unit>,
    /// The unit selected.
    pub unit: Option<i64>,
    /// Whether the subtree box is ticked.
    pub subtree: bool,
    /// The first day, as typed.
    pub from: String,
    /// The last day, as typed.
    pub to: String,
}

fn level_name(level: &str) -> &'static str {
    match level {
        "province" => "cấp tỉnh",
        "district" => "cấp huyện",
        "department" => "phòng, ban",
        "commune" => "cấp xã",
        _ => "khác",
    }
}

fn layout(title: &str, header_right: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — vanthu" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "Báo cáo tỷ lệ " span.en { "Ratio reports" } }
                    div { (header_right) }
                }
                main { (body) }
            }
        }
    }
}

fn message_box(message: Option<&Message>) -> Markup {
    html! {
        @if let Some(m) = message {
            p #message .error role="alert" { (m.vi) br; span.en { (m.en) } }
        }
    }
}

/// The sign-in form.
pub fn sign_in(message: Option<&Message>) -> Markup {
    let body = html! {
        (message_box(message))
        section {
            h2 { "Đăng nhập " span.en { "Sign in" } }
            p { "Dành cho thanh tra viên và quản trị viên. " span.en { "For auditors and administrators." } }
            form #login method="post" action=(LOGIN_PATH) {
                p {
                    label for="username" { "Tên đăng nhập " span.en { "Username" } } br;
                    input #username type="text" name="username" autocomplete="username" required;
                }
                p {
                    label for="password" { "Mật khẩu " span.en { "Password" } } br;
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                button #sign-in type="submit" { "Đăng nhập" }
            }
        }
    };
    layout("Đăng nhập", html! {}, body)
}

fn ratio_cell(metric: &str, r: &Ratio) -> Markup {
    html! {
        td data-metric=(metric) { (percent(r)) small { (fraction(r)) } }
    }
}

fn count_cell(metric: &str, n: i64) -> Markup {
    html! { td data-metric=(metric) { (count(n)) } }
}

fn figures(r: &Ratios) -> Markup {
    html! {
        (count_cell("received", r.incoming.received))
        (ratio_cell("processed", &r.incoming.processed_on_software))
        (count_cell("issued", r.outgoing.issued))
        (ratio_cell("signed", &r.outgoing.digitally_signed))
        (ratio_cell("on_time", &r.handling.on_time))
        (ratio_cell("late", &r.handling.late))
        (ratio_cell("open_past_deadline", &r.handling.open_past_deadline))
        (count_cell("valid", r.signatures.valid))
        (count_cell("untrusted", r.signatures.untrusted))
        (count_cell("invalid", r.signatures.invalid))
        (count_cell("unsigned", r.signatures.unsigned))
    }
}

fn table(report: &RatioReport) -> Markup {
    html! {
        table #ratios {
            thead {
                tr {
                    th.name rowspan="2" { "Đơn vị " span.en { "Unit" } }
                    th.name rowspan="2" { "Phạm vi " span.en { "Scope" } }
                    th colspan="2" { "Văn bản đến " span.en { "Incoming" } }
                    th colspan="2" { "Văn bản đi " span.en { "Outgoing" } }
                    th colspan="3" { "Giải quyết theo hạn " span.en { "Deadlines" } }
                    th colspan="4" { "Chữ ký số khi tiếp nhận " span.en { "Signatures on receipt" } }
                }
                tr {
                    th { "Tiếp nhận " span.en { "received" } }
                    th { "Xử lý trên phần mềm " span.en { "processed on software" } }
                    th { "Phát hành " span.en { "issued" } }
                    th { "Ký số " span.en { "digitally signed" } }
                    th { "Đúng hạn " span.en { "on time" } }
                    th { "Trễ hạn " span.en { "late" } }
                    th { "Quá hạn chưa xử lý " span.en { "open past deadline" } }
                    th { "Hợp lệ " span.en { "valid" } }
                    th { "Không được tin cậy " span.en { "untrusted" } }
                    th { "Không hợp lệ " span.en { "invalid" } }
                    th { "Không ký số " span.en { "unsigned" } }
                }
            }
            tbody {
                @for u in &report.units {
                    tr.own data-unit=(u.unit.id) data-scope="own" {
                        td.name { (u.unit.name) small { (u.unit.code) } }
                        td.name { "đơn vị " span.en { "own" } }
                        (figures(&u.own))
                    }
                    @if report.units.iter().any(|c| c.unit.parent_id == Some(u.unit.id)) {
                        tr.subtree data-unit=(u.unit.id) data-scope="subtree" {
                            td.name { (u.unit.name) small { (u.unit.code) } }
                            td.name { "đơn vị và cấp dưới " span.en { "with units below" } }
                            (figures(&u.subtree))
                        }
                    }
                }
                @if report.subtree {
                    @for l in &report.levels {
                        tr.level data-level=(l.level) {
                            td.name { (l.units) " đơn vị " (level_name(&l.level)) small { (l.level) } }
                            td.name { "theo cấp " span.en { "by level" } }
                            (figures(&l.ratios))
                        }
                    }
                }
                tr.total data-scope="total" {
                    td.name { "Tổng " span.en { "Total" } }
                    td.name {
                        @if report.subtree { "đơn vị và cấp dưới" } @else { "đơn vị" }
                    }
                    (figures(&report.total))
                }
            }
        }
    }
}

fn charts(report: &RatioReport) -> Markup {
    let chart = |id: &str, title: &str, pick: fn(&Ratios) -> Ratio| {
        let mut bars: Vec<Bar> = report
            .units
            .iter()
            .map(|u| Bar {
                label: u.unit.name.clone(),
                ratio: pick(&u.own),
            })
            .collect();
        if report.units.len() > 1 {
            bars.push(Bar {
                label: "Tổng".to_owned(),
                ratio: pick(&report.total),
            });
        }
        html! {
            figure {
                figcaption { (title) }
                (chart::bars(id, title, &bars))
            }
        }
    };
    html! {
        section #charts {
            h2 { "Biểu đồ tỷ lệ theo đơn vị " span.en { "Ratios per unit (own documents)" } }
            (chart("chart-processed", "Tỷ lệ văn bản đến xử lý trên phần mềm (processed on software)", |r| r.incoming.processed_on_software))
            (chart("chart-signed", "Tỷ lệ văn bản đi ký số (digitally signed)", |r| r.outgoing.digitally_signed))
            (chart("chart-on-time", "Tỷ lệ giải quyết đúng hạn (on time)", |r| r.handling.on_time))
        }
    }
}

fn checkpoint(latest: Option<&StoredCheckpoint>) -> Markup {
    html! {
        section #checkpoint {
            h2 { "Nhật ký kiểm toán: điểm kiểm tra mới nhất " span.en { "Audit log: latest checkpoint" } }
            @if let Some(c) = latest {
                dl {
                    dt { "Kích thước cây " span.en { "Tree size" } }
                    dd #tree-size { (c.size) }
                    dt { "Mã băm gốc " span.en { "Root hash (base64)" } }
                    dd #root-hash { (BASE64.encode(c.root)) }
                    dt { "Thời điểm " span.en { "Issued" } }
                    dd #checkpoint-time {
                        (c.created_at.with_timezone(&vietnam()).format("%d/%m/%Y %H:%M:%S (UTC+7)"))
                    }
                }
                p { "Bản ghi đã ký " span.en { "Signed note (C2SP signed-note; key at /api/v1/audit/key)" } }
                pre #note { (c.note) }
            } @else {
                p #no-checkpoint { "Chưa có điểm kiểm tra nào. " span.en { "No checkpoint was issued yet." } }
            }
        }
    }
}

fn query_form(choices: &Choices) -> Markup {
    let depth0 = choices.units.first().map_or(0, |u| u.path.ids().len());
    html! {
        section {
            form #query .query method="get" action=(PATH) {
                label for="unit" { "Đơn vị " span.en { "Unit" } " " }
                select #unit name="unit" {
                    @for u in &choices.units {
                        @let indent = "\u{a0}\u{a0}".repeat(u.path.ids().len().saturating_sub(depth0));
                        option value=(u.id) selected[choices.unit == Some(u.id.get())] {
                            (indent) (u.name) " (" (u.code) ")"
                        }
                    }
                }
                " "
                label for="subtree" {
                    input #subtree type="checkbox" name="subtree" value="true" checked[choices.subtree];
                    " kể cả đơn vị cấp dưới " span.en { "with units below" }
                }
                label for="from" { "Từ ngày " span.en { "From" } " "
                    input #from type="date" name="from" value=(choices.from);
                }
                label for="to" { "Đến ngày " span.en { "To" } " "
                    input #to type="date" name="to" value=(choices.to);
                }
                button #show type="submit" { "Xem báo cáo " span.en { "Show" } }
            }
        }
    }
}

/// The report page: the form, the message if something was wrong, the report when there is
/// one, and the log's latest checkpoint.
pub fn report(
    viewer: &Viewer<'_>,
    choices: &Choices,
    report: Option<&RatioReport>,
    latest: Option<&StoredCheckpoint>,
    message: Option<&Message>,
) -> Markup {
    let header_right = html! {
        span #viewer { (viewer.user.display_name) " (" (viewer.user.username) "), " (viewer.unit.name) }
        " "
        form #logout method="post" action=(LOGOUT_PATH) {
            button type="submit" { "Đăng xuất " span.en { "Sign out" } }
        }
    };
    let body = html! {
        (message_box(message))
        (query_form(choices))
        @if let Some(r) = report {
            section #report {
                h2 {
                    (r.unit.name) " — từ " (r.from.format("%d/%m/%Y")) " đến " (r.to.format("%d/%m/%Y"))
                    @if r.subtree { ", kể cả đơn vị cấp dưới" }
                    " " span.en { "definitions: " (r.definitions) }
                }
                (table(r))
            }
            (charts(r))
        }
        (checkpoint(latest))
    };
    layout("Báo cáo tỷ lệ", header_right, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vanthu_reports::Percent;

    #[test]
    fn numbers_are_written_the_vietnamese_way() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(5_789), "5.789");
        assert_eq!(count(10_000_000), "10.000.000");
        assert_eq!(count(-1_234), "-1.234");
        let r = Ratio {
            count: 5_789,
            of: 6_324,
            percent: Percent::of(5_789, 6_324),
        };
        assert_eq!(percent(&r), "91,5 %");
        assert_eq!(fraction(&r), "5.789/6.324");
        let none = Ratio {
            count: 0,
            of: 0,
            percent: None,
        };
        assert_eq!(percent(&none), "—");
    }

    #[test]
    fn the_sign_in_form_posts_to_this_server_only() {
        let page = sign_in(Some(&Message {
            vi: "Sai <mật khẩu>".into(),
            en: "wrong".into(),
        }))
        .into_string();
        assert!(page.contains("action=\"/reports/login\""), "{page}");
        assert!(page.contains("Sai &lt;mật khẩu&gt;"), "{page}");
        assert!(!page.contains("http"), "{page}");
        assert!(!page.contains("<script"), "{page}");
    }
}
