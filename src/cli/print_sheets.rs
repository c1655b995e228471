//! `staffgate print-sheets (--employee ID ... | --department D | --all-pending) -o FILE.pdf`:
//! prints account sheets to one PDF, reissuing each printed employee's QR token.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::domain::{EmployeeId, ValidityHours};
use crate::i18n::Lang;
use crate::services::principal::{Actor, ClientInfo};
use crate::services::sheets::{self, Selection, SheetError};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["employee", "department", "all_pending"])))]
pub struct Args {
    /// Employee ID (repeatable).
    #[arg(long = "employee", value_name = "ID")]
    pub employee: Vec<String>,
    /// Every active employee of this department.
    #[arg(long)]
    pub department: Option<String>,
    /// Every active employee who has not set a password of their own yet and holds no
    /// working sheet (never printed, or its QR code expired).
    #[arg(long)]
    pub all_pending: bool,
    /// With --all-pending: instead those who hold a sheet whose QR code still works
    /// (reprinting stops those sheets).
    #[arg(long, requires = "all_pending")]
    pub handed_out: bool,
    /// Where to write the PDF (created with mode 0600: it holds passwords).
    #[arg(short, long, value_name = "FILE.pdf")]
    pub output: PathBuf,
    /// How long the printed QR codes work, 1 to 168 hours.
    #[arg(long, default_value_t = 168)]
    pub validity_hours: i64,
    /// Do not ask before reissuing (needed when not run from a terminal).
    #[arg(long)]
    pub yes: bool,
}

fn message(lang: Lang, e: &SheetError) -> String {
    let (ja, en) = e.messages();
    lang.pick(&ja, &en).to_owned()
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let lang = super::lang();
    let selection = if args.all_pending {
        Selection::Pending {
            handed_out: args.handed_out,
        }
    } else if let Some(d) = &args.department {
        Selection::Department(d.trim().to_owned())
    } else {
        let mut ids = Vec::with_capacity(args.employee.len());
        for raw in &args.employee {
            ids.push(
                EmployeeId::parse(raw)
                    .map_err(|e| lang.pick(&e.message_ja, &e.message_en).to_owned())?,
            );
        }
        Selection::Employees(ids)
    };
    let validity = ValidityHours::parse(Some(args.validity_hours))
        .map_err(|e| lang.pick(&e.message_ja, &e.message_en).to_owned())?;
    // Fail on an unwritable destination before anything is issued.
    let staging = Staging::create(&args.output).map_err(|e| {
        format!(
            "{} {}: {e}",
            lang.pick(
                "出力ファイルを作成できません",
                "cannot create the output file"
            ),
            args.output.display()
        )
    })?;
    let state = super::state().await?;
    let plan = sheets::plan(&state, &Actor::Cli, &selection)
        .await
        .map_err(|e| message(lang, &e))?;
    let count = plan.employees.len();
    println!(
        "{}",
        lang.pick(
            &format!("QRコードを {count} 件発行し、アカウント情報シート {count} 枚を作成します。"),
            &format!("{count} QR codes will be issued and {count} account sheets printed."),
        )
    );
    if plan.live_tokens > 0 {
        println!(
            "{}",
            lang.pick(
                &format!(
                    "以前の未使用QRコード {} 件は使えなくなります。",
                    plan.live_tokens
                ),
                &format!(
                    "{} unused QR codes issued earlier stop working.",
                    plan.live_tokens
                ),
            )
        );
    }
    if plan.initial_passwords > 0 {
        println!(
            "{}",
            lang.pick(
                &format!(
                    "{} 名に新しい初期パスワードを設定します。",
                    plan.initial_passwords
                ),
                &format!(
                    "{} employees get a new initial password.",
                    plan.initial_passwords
                ),
            )
        );
    }
    if !args.yes && !confirmed(lang)? {
        println!(
            "{}",
            lang.pick(
                "中止しました。何も変更していません。",
                "Cancelled; nothing changed."
            )
        );
        return Ok(ExitCode::FAILURE);
    }
    let printed = sheets::print(
        &state,
        Actor::Cli,
        selection,
        validity,
        Some(count),
        ClientInfo::cli(),
    )
    .await
    .map_err(|e| message(lang, &e))?;
    staging.commit(&printed.pdf).map_err(|e| {
        format!(
            "{} {}: {e}",
            lang.pick(
                "PDFを書き込めませんでした。もう一度印刷してください（発行済みのQRコードは再印刷で無効になります）",
                "could not write the PDF; print again (reprinting revokes the codes just issued)"
            ),
            args.output.display()
        )
    })?;
    println!(
        "{} {} ({} {}, {} bytes)",
        lang.pick("書き出しました:", "written:"),
        args.output.display(),
        printed.count,
        lang.pick("枚", "sheets"),
        printed.pdf.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn confirmed(lang: Lang) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err(lang
            .pick(
                "確認できません。端末から実行するか、--yes を付けてください。",
                "cannot ask for confirmation: run from a terminal or pass --yes",
            )
            .to_owned());
    }
    print!("{}", lang.pick("続けますか? [y/N] ", "Continue? [y/N] "));
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "はい"))
}

/// A private temporary file beside the destination, renamed into place once complete.
struct Staging {
    tmp: PathBuf,
    dest: PathBuf,
    file: std::fs::File,
}

impl Staging {
    fn create(dest: &Path) -> std::io::Result<Self> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sheets.pdf".into());
        let tmp = dest.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&tmp)?;
        Ok(Self {
            tmp,
            dest: dest.to_owned(),
            file,
        })
    }

    fn commit(mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.file.sync_all()?;
        std::fs::rename(&self.tmp, &self.dest)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // After a successful rename the temporary name is gone and this does nothing.
        let _ = std::fs::remove_file(&self.tmp);
    }
}
