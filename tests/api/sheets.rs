//! Account sheets: the PDF is rendered with poppler, its QR code decoded with rqrr and
//! redeemed through API-2; printing is an issuing act that commits all or nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use staffgate::domain::{EmployeeId, ValidityHours};
use staffgate::services::principal::{Actor, ClientInfo};
use staffgate::services::sheets::{self, Printed, Selection, SheetError};

use crate::helpers::browser::Browser;
use crate::helpers::cli::{staffgate, text};
use crate::helpers::qr::decode_qr;
use crate::helpers::*;

/// A scratch directory for one test's files.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "staffgate-sheets-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed for the sheet tests (poppler-utils): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The PDF as poppler sees it.
struct Pdf {
    scratch: Scratch,
    path: PathBuf,
    bytes: usize,
}

impl Pdf {
    fn new(bytes: &[u8]) -> Self {
        assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
        let scratch = Scratch::new();
        let path = scratch.write("sheets.pdf", bytes);
        Self {
            scratch,
            path,
            bytes: bytes.len(),
        }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    fn pages(&self) -> usize {
        let info = run("pdfinfo", &[self.path()]);
        info.lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|n| n.trim().parse().unwrap())
            .unwrap()
    }

    /// The text of each page (pdftotext separates pages with form feeds).
    fn texts(&self) -> Vec<String> {
        let all = run("pdftotext", &["-layout", self.path(), "-"]);
        let mut pages: Vec<String> = all.split('\u{c}').map(str::to_owned).collect();
        pages.truncate(self.pages());
        pages
    }

    fn fonts(&self) -> String {
        run("pdffonts", &[self.path()])
    }

    /// Renders one page at 100 dpi (a cheap office scan) and decodes its QR code with rqrr.
    fn qr(&self, page: usize) -> String {
        let prefix = self.scratch.0.join(format!("page{page}"));
        let n = page.to_string();
        run(
            "pdftoppm",
            &[
                "-r",
                "100",
                "-gray",
                "-png",
                "-singlefile",
                "-f",
                &n,
                "-l",
                &n,
                self.path(),
                prefix.to_str().unwrap(),
            ],
        );
        let img = image::open(prefix.with_extension("png"))
            .unwrap()
            .to_luma8();
        decode_qr(img, &format!("page {page}"))
    }
}

fn token_of(url: &str, public: &str) -> String {
    let prefix = format!("{public}/welcome#t=");
    assert!(url.starts_with(&prefix), "QR holds {url}");
    url[prefix.len()..].to_owned()
}

/// The initial password printed on a page, if any.
fn password_on(text: &str) -> Option<String> {
    let at = text.find("Initial password")?;
    text[at..]
        .lines()
        .skip(1)
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<String>())
}

fn ids(codes: &[&str]) -> Selection {
    Selection::Employees(
        codes
            .iter()
            .map(|c| EmployeeId::parse(c).unwrap())
            .collect(),
    )
}

async fn print(app: &TestApp, sel: Selection) -> Result<Printed, SheetError> {
    sheets::print(
        &app.state,
        Actor::Cli,
        sel,
        ValidityHours::parse(Some(168)).unwrap(),
        None,
        ClientInfo::cli(),
    )
    .await
}

fn written(app: &TestApp) -> [i64; 5] {
    [
        app.count("onetime_tokens"),
        app.count("sheet_prints"),
        app.count("login_history"),
        app.count("admin_audit"),
        app.count("employees"),
    ]
}

/// A new employee without a password yet, in `department`.
fn pending<'a>(code: &'a str, name: &'a str, department: &'a str) -> Seed<'a> {
    Seed {
        code,
        name,
        department,
        ..Seed::without_password()
    }
}

#[tokio::test]
async fn a_sheet_printed_from_the_portal_scans_redeems_and_carries_a_working_initial_password() {
    let app = spawn_portal_configured(|s| {
        s.staff_app.name = Some("VoiceDrive".into());
        s.staff_app.url = Some("https://voicedrive.hospital.example.jp".into());
    })
    .await;
    let p = Portal::signed_in_admin(&app).await;
    app.seed(pending(STAFF_ID, "髙﨑 德子", "看護部 第3病棟"));

    let confirm = p.html(&format!("/admin/sheets/confirm?e={STAFF_ID}")).await;
    assert!(confirm.contains("QRコードを 1 件発行します"), "{confirm}");
    assert!(confirm.contains("新しい初期パスワード"));
    assert_eq!(app.count("onetime_tokens"), 0, "confirming writes nothing");

    let res = p
        .post(
            "/admin/sheets/print",
            &[
                ("csrf", &csrf_in(&confirm)),
                ("kind", "employees"),
                ("employees", STAFF_ID),
                ("validity", "72"),
                ("expected", "1"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/pdf");
    assert!(header(&res, "content-disposition").starts_with("attachment;"));
    assert!(header(&res, "cache-control").contains("no-store"));
    let pdf = Pdf::new(&res.bytes().await.unwrap());
    assert_eq!(pdf.pages(), 1);

    let text = &pdf.texts()[0];
    for needle in [
        "アカウント情報シート",
        "取扱注意",
        "髙﨑 德子",
        "カンゴ ハナコ",
        STAFF_ID,
        "看護部 第3病棟",
        "(JST)",
        "シート番号",
        // Where to sign in every day.
        "以後は VoiceDrive に、職員番号と新しいパスワードでサインインします。",
        "ふだんのサインイン先",
        "https://voicedrive.hospital.example.jp",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from the sheet:\n{text}"
        );
    }
    // Printed 2026-04-01 09:00 JST, valid for 72 hours.
    assert!(
        text.contains("2026-04-04 09:00 (JST)"),
        "expiry in JST:\n{text}"
    );

    let url = pdf.qr(1);
    assert!(text.contains(&url), "the same URL is printed as text");
    let token = token_of(&url, "http://127.0.0.1");
    let res = app.verify(&token).await;
    assert_eq!(res.status(), StatusCode::OK, "the decoded token redeems");

    let password = password_on(text).expect("an initial password on the sheet");
    assert_eq!(password.len(), 12);
    let res = app.login(STAFF_ID, &password).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the printed initial password signs in"
    );
    let body: Value = res.json().await.unwrap();
    assert!(
        body["refreshToken"].is_null(),
        "an initial password must be changed first"
    );

    let events = app.events(STAFF_ID);
    assert!(events.contains(&"sheet_printed".to_owned()), "{events:?}");
    assert!(events.contains(&"token_issued".to_owned()));
    assert_eq!(app.count("sheet_prints"), 1);
    let audit = p.html("/admin/audit?action=sheets_printed").await;
    assert!(audit.contains(ADMIN_ID), "the audit log names who printed");
}

#[tokio::test]
async fn reprinting_revokes_the_earlier_sheet_and_counts_the_reprint() {
    let app = spawn_app().await;
    app.seed(pending(STAFF_ID, "看護 花子", "看護部"));
    let first = Pdf::new(&print(&app, ids(&[STAFF_ID])).await.unwrap().pdf);
    let second = Pdf::new(&print(&app, ids(&[STAFF_ID])).await.unwrap().pdf);

    let (t1, t2) = (first.texts().remove(0), second.texts().remove(0));
    assert!(!t1.contains("再発行"), "a first sheet is not a reprint");
    assert!(t2.contains("再発行 1回目"), "{t2}");
    let (p1, p2) = (password_on(&t1).unwrap(), password_on(&t2).unwrap());
    assert_ne!(p1, p2, "a reprint carries a fresh initial password");
    assert_eq!(
        app.login(STAFF_ID, &p1).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login(STAFF_ID, &p2).await.status(), StatusCode::OK);

    let old = token_of(&first.qr(1), "https://staffgate.test");
    let new = token_of(&second.qr(1), "https://staffgate.test");
    let refused = token_gone(app.verify(&old).await).await;
    assert_eq!(refused["reason"], "revoked");
    assert_eq!(app.verify(&new).await.status(), StatusCode::OK);

    let mut conn = app.db.conn();
    let reprints: Vec<i32> = {
        use diesel::prelude::*;
        use staffgate::db::schema::sheet_prints::dsl as s;
        s::sheet_prints
            .order(s::id)
            .select(s::reprint_number)
            .load(&mut conn)
            .unwrap()
    };
    assert_eq!(reprints, vec![0, 1]);
}

#[tokio::test]
async fn a_department_batch_prints_one_page_per_active_member_with_a_subset_font() {
    let app = spawn_app().await;
    for i in 0..100 {
        app.seed(pending(
            &format!("R{i:04}"),
            &format!("放射線 技師{i}"),
            "放射線科",
        ));
    }
    app.seed(pending("X0001", "他部署 一郎", "薬剤部"));
    app.seed(Seed {
        status: "retired",
        ..pending("R9999", "退職 済子", "放射線科")
    });
    app.seed(Seed {
        code: "R5000",
        name: "設定 済男",
        department: "放射線科",
        ..Seed::default()
    });

    let printed = print(&app, Selection::Department("放射線科".into()))
        .await
        .unwrap();
    assert_eq!(
        printed.count, 101,
        "100 pending + 1 with an own password; not the retired one"
    );
    assert_eq!(printed.initial_passwords, 100);
    let pdf = Pdf::new(&printed.pdf);
    assert_eq!(pdf.pages(), 101);
    let fonts = pdf.fonts();
    let row = fonts
        .lines()
        .find(|l| l.contains("IPAexGothic"))
        .expect(&fonts);
    let (tag, rest) = row
        .split_once('+')
        .expect("a subset font is named TAG+Name");
    assert_eq!(tag.len(), 6, "{row}");
    assert!(
        rest.split_whitespace().filter(|w| *w == "yes").count() >= 2,
        "embedded and subset: {row}"
    );
    assert!(
        pdf.bytes < 600_000,
        "101 pages in {} bytes: the font is not subset",
        pdf.bytes
    );

    let texts = pdf.texts();
    assert!(
        texts[0].contains("R0000") && texts[100].contains("R5000"),
        "in employee ID order"
    );
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("R9999") || t.contains("X0001"))
    );
    assert!(texts[100].contains("パスワードはご本人が設定済み"));
    assert!(
        password_on(&texts[100]).is_none(),
        "no initial password for an own password"
    );
    assert_eq!(
        app.login("R5000", STAFF_PW).await.status(),
        StatusCode::OK,
        "own password kept"
    );

    let last = token_of(&pdf.qr(101), "https://staffgate.test");
    assert_eq!(app.verify(&last).await.status(), StatusCode::OK);
    let first = token_of(&pdf.qr(1), "https://staffgate.test");
    assert_eq!(app.verify(&first).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn all_pending_prints_only_staff_without_an_own_password() {
    let app = spawn_app().await;
    app.seed(pending("P0001", "未設定 一", "外来"));
    app.seed(Seed {
        code: "P0002",
        must_change: true,
        ..Seed::default()
    });
    app.seed_staff();
    let printed = print(&app, Selection::Pending { handed_out: false })
        .await
        .unwrap();
    assert_eq!(printed.count, 2);
    let texts = Pdf::new(&printed.pdf).texts();
    assert!(texts[0].contains("P0001") && texts[1].contains("P0002"));
    assert!(!texts.iter().any(|t| t.contains(STAFF_ID)));
}

/// The ID box takes IDs in any case, as search and sign-in do, and gives the typed list back
/// after a refusal.
#[tokio::test]
async fn typed_ids_match_in_any_case_and_survive_a_refusal() {
    let app = spawn_portal().await;
    app.seed(pending("N0101", "病棟 一子", "看護部"));
    let p = Portal::signed_in_admin(&app).await;
    let ok = p.html("/admin/sheets/confirm?ids=n0101").await;
    assert!(ok.contains("QRコードを 1 件発行します"), "{ok}");
    let res = p.get("/admin/sheets/confirm?ids=n0101%20Z0404").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = p.html(&location(&res)).await;
    assert!(
        back.contains("Z0404"),
        "the refusal names the unknown ID: {back}"
    );
    assert!(
        back.contains(">n0101 Z0404</textarea>"),
        "the typed list is back in its box: {back}"
    );
}

/// A department whose every member is above the admin's level says so, not "nobody".
#[tokio::test]
async fn a_department_of_only_higher_levels_says_why_nothing_prints() {
    let app = spawn_portal().await;
    app.seed(Seed {
        code: "CIO001",
        department: "情報システム部",
        permission: 20.0,
        ..Seed::default()
    });
    let p = Portal::signed_in_admin(&app).await;
    let res = p
        .get("/admin/sheets/confirm?department=%E6%83%85%E5%A0%B1%E3%82%B7%E3%82%B9%E3%83%86%E3%83%A0%E9%83%A8")
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        p.shows(
            &location(&res),
            "対象の 1 名はすべて、あなたより権限レベルが高いアカウント"
        )
        .await
    );
}

/// Batch printing for everyone without a password leaves alone the sheets already handed out:
/// by default it prints for those never printed or whose code expired; reprinting the handed-out
/// sheets is a second choice that says how many stop working.
#[tokio::test]
async fn batch_printing_spares_handed_out_sheets_unless_asked_to_reprint_them() {
    let app = spawn_portal().await;
    app.seed(pending("P0001", "未印刷 一", "外来"));
    app.seed(pending("P0002", "配布済 二", "外来"));
    app.seed(pending("P0003", "期限切れ 三", "外来"));
    let handed_out = print(&app, ids(&["P0002"])).await.unwrap();
    let handed_out_token = token_of(&Pdf::new(&handed_out.pdf).qr(1), "http://127.0.0.1");
    sheets::print(
        &app.state,
        Actor::Cli,
        ids(&["P0003"]),
        ValidityHours::parse(Some(24)).unwrap(),
        None,
        ClientInfo::cli(),
    )
    .await
    .unwrap();
    app.clock.advance(chrono::Duration::hours(25));

    // Someone above the admin's level is not counted: the confirmation would leave them out.
    app.seed(Seed {
        code: "CIO001",
        permission: 20.0,
        ..Seed::without_password()
    });
    let p = Portal::signed_in_admin(&app).await;
    let index = p.html("/admin/sheets").await;
    assert!(index.contains("id=\"pending-count\">2<"), "{index}");
    assert!(index.contains("id=\"handed-out-count\">1<"), "{index}");
    assert!(index.contains("配布済みのシート 1 枚は使えなくなります"));

    let confirm = p.html("/admin/sheets/confirm?pending=1").await;
    assert!(confirm.contains("QRコードを 2 件発行します"), "{confirm}");
    assert!(confirm.contains("P0001") && confirm.contains("P0003"));
    assert!(
        !confirm.contains("P0002"),
        "a handed-out sheet is not in the default batch"
    );
    assert!(
        !confirm.contains("id=\"revoke-note\""),
        "nothing handed out stops working"
    );
    let res = p
        .post(
            "/admin/sheets/print",
            &[
                ("csrf", &csrf_in(&confirm)),
                ("kind", "pending"),
                ("department", "1"),
                ("validity", "72"),
                ("expected", "2"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", location(&res));
    assert_eq!(Pdf::new(&res.bytes().await.unwrap()).pages(), 2);

    let reprint = p.html("/admin/sheets/confirm?pending=handed_out").await;
    assert!(reprint.contains("再印刷"), "{reprint}");
    assert!(reprint.contains("P0002"), "{reprint}");
    assert!(
        reprint.contains("以前に発行した未使用のQRコード 3 件は使えなくなります"),
        "{reprint}"
    );
    assert_eq!(
        app.verify(&handed_out_token).await.status(),
        StatusCode::OK,
        "the sheet handed out before the batch still works"
    );
}

#[tokio::test]
async fn failures_are_explained_and_write_nothing() {
    let app = spawn_app().await;
    app.seed(pending(STAFF_ID, "看護 花子", "看護部"));
    app.seed(Seed {
        status: "retired",
        ..pending("N0002", "退職 花子", "看護部")
    });
    app.seed(Seed {
        code: "HR0009",
        permission: 9.5,
        ..Seed::default()
    });
    let admin = Actor::Employee {
        id: app.seed_admin(),
        employee_id: ADMIN_ID.into(),
        permission: 9.0,
    };
    let before = written(&app);
    let hash_before = app.employee(STAFF_ID).password_hash;

    let e = print(&app, ids(&[STAFF_ID, "Z9999"])).await.unwrap_err();
    assert!(
        matches!(&e, SheetError::Unknown(c) if c == &["Z9999".to_owned()]),
        "{e:?}"
    );
    assert!(e.messages().0.contains("Z9999"));

    let e = print(&app, ids(&[STAFF_ID, "N0002"])).await.unwrap_err();
    assert!(
        e.messages().0.contains("N0002（退職）"),
        "{:?}",
        e.messages()
    );

    let validity = ValidityHours::parse(Some(24)).unwrap();
    let e = sheets::print(
        &app.state,
        admin,
        ids(&["HR0009"]),
        validity,
        None,
        ClientInfo::cli(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, SheetError::Forbidden(_)), "{e:?}");

    let e = sheets::print(
        &app.state,
        Actor::Cli,
        ids(&[STAFF_ID]),
        validity,
        Some(2),
        ClientInfo::cli(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            SheetError::Changed {
                expected: 2,
                actual: 1
            }
        ),
        "{e:?}"
    );

    let e = print(&app, Selection::Department("存在しない部署".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, SheetError::Empty { above_level: 0 }), "{e:?}");

    // A missing font fails before anything is issued.
    let broken = app
        .another_node(|s| s.sheets.font = "/nonexistent/ipaexg.ttf".into())
        .await;
    let e = print(&broken, ids(&[STAFF_ID])).await.unwrap_err();
    let (ja, en) = e.messages();
    assert!(
        ja.contains("/nonexistent/ipaexg.ttf") && ja.contains("fonts-ipaexfont-gothic"),
        "{ja}"
    );
    assert!(en.contains("STAFFGATE_SHEET_FONT"), "{en}");

    assert_eq!(written(&app), before, "nothing was written by any failure");
    assert_eq!(app.employee(STAFF_ID).password_hash, hash_before);
}

#[tokio::test]
async fn parallel_prints_of_one_employee_leave_exactly_one_live_sheet() {
    let app = spawn_app().await;
    app.seed(pending(STAFF_ID, "看護 花子", "看護部"));
    let runs = (0..5).map(|_| print(&app, ids(&[STAFF_ID])));
    let printed: Vec<Printed> = futures::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let mut live = 0;
    for p in &printed {
        let token = token_of(&Pdf::new(&p.pdf).qr(1), "https://staffgate.test");
        if app.verify(&token).await.status() == StatusCode::OK {
            live += 1;
        }
    }
    assert_eq!(live, 1, "only the last sheet printed works");
    let mut conn = app.db.conn();
    let mut reprints: Vec<i32> = {
        use diesel::prelude::*;
        use staffgate::db::schema::sheet_prints::dsl as s;
        s::sheet_prints
            .select(s::reprint_number)
            .load(&mut conn)
            .unwrap()
    };
    reprints.sort();
    assert_eq!(reprints, vec![0, 1, 2, 3, 4], "every reprint counted once");
}

#[tokio::test]
async fn the_portal_confirms_the_count_and_refuses_a_stale_or_forged_print() {
    let app = spawn_portal().await;
    let p = Portal::signed_in_admin(&app).await;
    for i in 0..3 {
        app.seed(pending(&format!("D{i:04}"), "薬剤 太郎", "薬剤部"));
    }
    let index = p.html("/admin/sheets").await;
    assert!(index.contains("薬剤部"), "departments are listed");
    let confirm = p
        .html("/admin/sheets/confirm?department=%E8%96%AC%E5%89%A4%E9%83%A8")
        .await;
    assert!(confirm.contains("QRコードを 3 件発行します"), "{confirm}");
    let csrf = csrf_in(&confirm);

    // A fourth member arrives after the confirmation: the print is refused, nothing issued.
    app.seed(pending("D0009", "薬剤 次郎", "薬剤部"));
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("kind", "department".to_owned()),
            ("department", "薬剤部".to_owned()),
            ("validity", "168".to_owned()),
            ("expected", "3".to_owned()),
        ]
    };
    let fields = form(&csrf);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = p.post("/admin/sheets/print", &borrowed).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/admin/sheets/confirm?department="));
    let again = p.html(&location(&res)).await;
    assert!(again.contains("確認後に対象が変わりました"), "{again}");
    assert!(again.contains("QRコードを 4 件発行します"));

    let forged = form("not-the-token");
    let borrowed: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        p.post("/admin/sheets/print", &borrowed).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.count("onetime_tokens"), 0);
    assert_eq!(app.count("sheet_prints"), 0);

    // From the employee list: ticked rows go to the same confirmation.
    let list = p.html("/admin/employees?q=D000").await;
    assert!(list.contains("form=\"print-selection\""));
    let picked = p.html("/admin/sheets/confirm?e=D0001&e=D0002").await;
    assert!(picked.contains("QRコードを 2 件発行します"), "{picked}");
    let bad = p.get("/admin/sheets/confirm?e=D0001&e=NOPE%25").await;
    assert_eq!(bad.status(), StatusCode::SEE_OTHER);
    let flash = p.html(&location(&bad)).await;
    assert!(
        flash.contains("職員番号の形式が正しくありません"),
        "{flash}"
    );
}

#[tokio::test]
async fn print_sheets_from_the_command_line_writes_a_private_pdf() {
    let app = spawn_app().await;
    app.seed(pending(STAFF_ID, "看護 花子", "看護部"));
    let dir = Scratch::new();
    let out = dir.0.join("sheets.pdf");
    let out_s = out.to_str().unwrap();

    // Not a terminal and no --yes: asks, cannot, changes nothing.
    let o = staffgate(
        &app.db.url,
        &["print-sheets", "--employee", STAFF_ID, "-o", out_s],
        None,
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("--yes"), "{}", text(&o));
    assert_eq!(app.count("onetime_tokens"), 0);
    assert!(!out.exists());

    let o = staffgate(
        &app.db.url,
        &["print-sheets", "--employee", STAFF_ID, "-o", out_s, "--yes"],
        None,
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("QRコードを 1 件発行"), "{t}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the PDF holds passwords");
    }
    let pdf = Pdf::new(&std::fs::read(&out).unwrap());
    assert!(pdf.texts()[0].contains("看護 花子"));
    let token = token_of(&pdf.qr(1), "https://staffgate.test");
    assert_eq!(app.verify(&token).await.status(), StatusCode::OK);
    assert_eq!(leftovers(&dir.0), 1, "no temporary file is left behind");

    let o = staffgate(
        &app.db.url,
        &["print-sheets", "--employee", "Z0404", "-o", out_s, "--yes"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("Z0404"));
}

fn leftovers(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[tokio::test]
async fn in_the_browser_an_admin_ticks_employees_confirms_and_downloads_their_sheets() {
    let app = spawn_portal().await;
    app.seed_admin();
    app.seed(pending("N0101", "病棟 一子", "看護部"));
    app.seed(pending("N0102", "病棟 二子", "看護部"));
    app.seed(pending("N0103", "病棟 三子", "看護部"));

    let browser = Browser::start().await;
    browser
        .admin_signs_in_at(&app, "/admin/employees?q=N010")
        .await;

    browser.click("input[name=e][value=N0101]").await;
    browser.click("input[name=e][value=N0103]").await;
    browser.click("#print-selected").await;
    browser.wait_for("#reissue-count").await;
    assert_eq!(
        browser.text("#reissue-count").await,
        "QRコードを 2 件発行します"
    );
    assert!(browser.text("#planned").await.contains("病棟 三子"));
    // The expiry hint follows the validity chosen.
    browser
        .find("#validity option[value='168']")
        .await
        .click()
        .await
        .unwrap();
    assert!(
        browser
            .text("#expiry-at")
            .await
            .starts_with("2026-04-08 09:00"),
        "{}",
        browser.text("#expiry-hint").await
    );

    // The confirmation box is required: without it nothing is sent.
    browser.click("#download").await;
    assert!(
        browser
            .current_url()
            .await
            .contains("/admin/sheets/confirm")
    );
    assert_eq!(app.count("sheet_prints"), 0);

    // Downloading only downloads: the browser's print dialog does not open.
    browser
        .js("window.print = () => { window.printDialogs = (window.printDialogs || 0) + 1; }")
        .await;
    browser.click("#print-confirm").await;
    browser.click("#download").await;
    let mut printed = 0;
    for _ in 0..100 {
        printed = app.count("sheet_prints");
        if printed == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(printed, 2, "the two ticked employees got sheets");
    assert_eq!(
        browser.js("return window.printDialogs || 0").await,
        serde_json::json!(0),
        "the download button opened the print dialog"
    );
    for code in ["N0101", "N0103"] {
        assert!(app.has_event(code, "sheet_printed"));
    }
    assert!(!app.has_event("N0102", "sheet_printed"));
    browser.close().await;
}
