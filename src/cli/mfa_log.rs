//! `staffgate mfa-log verify|rekey`: the second-factor reset log's key rotation. `verify` opens
//! every sealed row with the configured keys and prints counts only (exit 1 if any row cannot
//! be opened: the staging proof before an old key is retired); `rekey` re-seals every row under
//! the current key (batched, resumable, idempotent).

use std::process::ExitCode;

use crate::services::mfa::reset::{self, LogCounts};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Open every sealed row; print counts; exit 1 if any cannot be opened.
    Verify,
    /// Re-seal every row under STAFFGATE_MFA_RESET_LOG_KEY (old keys from
    /// STAFFGATE_MFA_RESET_LOG_OLD_KEYS open the rest).
    Rekey {
        /// Rows per transaction.
        #[arg(long, default_value_t = 200)]
        batch: i64,
    },
}

fn print(counts: &LogCounts, key: &str) {
    println!(
        "封印済みの記録 / sealed rows: {}\n  現在の鍵 / under the current key ({key}): {}\n  古い鍵 / under old keys: {}\n  開けない / unreadable: {}",
        counts.sealed, counts.under_current_key, counts.under_old_keys, counts.unreadable
    );
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let lang = super::lang();
    let state = super::state().await?;
    let key = state.settings.mfa.reset_log_key.id.clone();
    let counts = match args.action {
        Action::Verify => reset::verify(&state).await,
        Action::Rekey { batch } => {
            let done = reset::rekey(&state, batch).await;
            if let Ok(c) = &done {
                println!("再封印 / re-sealed: {} 件 / rows", c.under_old_keys);
            }
            done
        }
    }
    .map_err(|e| super::explained(lang, e))?;
    print(&counts, &key);
    if counts.unreadable > 0 {
        eprintln!(
            "{}",
            lang.pick(
                "開けない記録があります。その記録の鍵を STAFFGATE_MFA_RESET_LOG_OLD_KEYS に加えてください。",
                "Some rows cannot be opened: add their key to STAFFGATE_MFA_RESET_LOG_OLD_KEYS."
            )
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
