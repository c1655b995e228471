//! Suspending, retiring and reinstating an employee (a reason and a confirmation, recorded), and
//! correcting their listing, from the employee page.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::super::Admin;
use super::super::view::{PortalError, encode, see_other};
use crate::domain::{EmployeeId, EmployeeStatus, ParseError, kana};
use crate::services::lifecycle::{self, Listing};
use crate::services::portal::actor;

#[derive(Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn status(
    me: Admin,
    code: web::Path<String>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, PortalError> {
    let back = format!("/admin/employees/{}", encode(&code));
    let parsed = lifecycle::parse_status(&form.status)
        .and_then(|to| lifecycle::parse_reason(&form.reason, to).map(|r| (to, r)));
    let (to, reason) = match parsed {
        Ok(ok) => ok,
        Err(e) => return Ok(refuse(&me, &e, &back)),
    };
    if form.confirm != "yes" {
        me.flash_error(
            "確認のチェックを入れてから変更してください。",
            "Tick the confirmation box to change the status.",
        );
        return Ok(see_other(&back));
    }
    let employee_id = EmployeeId::parse(&code).map_err(|_| PortalError::NotFound)?;
    let done = match lifecycle::set_status(
        &me.state,
        actor(&me.employee),
        employee_id,
        to,
        reason,
        me.client.clone(),
    )
    .await
    {
        Ok(done) => done,
        Err(e) => return Ok(me.refused(e, &back)),
    };
    let id = &done.employee_id;
    match to {
        _ if done.from == to => me.flash_ok("状態は変わっていません。", "The status is unchanged."),
        EmployeeStatus::Active => me.flash_ok(
            &format!(
                "{id} を在職に戻しました。パスワードが使えない場合はQRコードを発行してください。"
            ),
            &format!("{id} is active again. Issue a QR code if they cannot use their password."),
        ),
        EmployeeStatus::Suspended | EmployeeStatus::Retired => {
            let (ja, en) = if to == EmployeeStatus::Suspended {
                ("停止中", "suspended")
            } else {
                ("退職", "retired")
            };
            me.flash_ok(
                &format!(
                    "{id} を{ja}にしました。管理画面のセッション {} 件、アプリのサインイン {} 件、未使用のQRコード {} 件を無効にしました。",
                    done.sessions_ended, done.refresh_tokens_revoked, done.qr_codes_revoked
                ),
                &format!(
                    "{id} is now {en}: {} portal sessions, {} app sign-ins and {} unused QR codes were ended.",
                    done.sessions_ended, done.refresh_tokens_revoked, done.qr_codes_revoked
                ),
            );
        }
    }
    Ok(see_other(&back))
}

#[derive(Deserialize)]
pub(super) struct ListingForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_kana: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    permission_level: String,
}

impl ListingForm {
    fn listing(&self) -> Result<Listing, ParseError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ParseError::new(
                "name",
                "氏名は1〜100文字で入力してください。",
                "The name must be 1 to 100 characters.",
            ));
        }
        let text = |v: &str, field: &'static str, ja: &'static str, en: &'static str| {
            let v = v.trim();
            if v.chars().count() > 100 {
                Err(ParseError::new(field, ja, en))
            } else {
                Ok(v.to_owned())
            }
        };
        // Kana typed in hiragana or half-width is kept as full-width katakana, as on import.
        let name_kana = kana::to_full_width_katakana(&text(
            &self.name_kana,
            "name_kana",
            "カナは100文字以内で入力してください。",
            "The kana must be at most 100 characters.",
        )?);
        let department = text(
            &self.department,
            "department",
            "部署は100文字以内で入力してください。",
            "The department must be at most 100 characters.",
        )?;
        let email = self.email.trim();
        let email = if email.is_empty() {
            None
        } else if email.len() <= 254
            && email.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !email.contains(char::is_whitespace)
            })
        {
            Some(email.to_owned())
        } else {
            return Err(ParseError::new(
                "email",
                "メールアドレスの形式が正しくありません。",
                "The e-mail address is not valid.",
            ));
        };
        let permission_level = self
            .permission_level
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|l| (0.0..=99.9).contains(l))
            .ok_or_else(|| {
                ParseError::new(
                    "permission_level",
                    "権限レベルは0〜99.9の数値で入力してください。",
                    "The permission level must be a number from 0 to 99.9.",
                )
            })?;
        Ok(Listing {
            name: name.to_owned(),
            name_kana,
            department,
            email,
            permission_level,
        })
    }
}

pub(super) async fn listing(
    me: Admin,
    code: web::Path<String>,
    form: web::Form<ListingForm>,
) -> Result<HttpResponse, PortalError> {
    let back = format!("/admin/employees/{}", encode(&code));
    let listing = match form.listing() {
        Ok(l) => l,
        Err(e) => return Ok(refuse(&me, &e, &back)),
    };
    let employee_id = EmployeeId::parse(&code).map_err(|_| PortalError::NotFound)?;
    match lifecycle::edit_listing(
        &me.state,
        actor(&me.employee),
        employee_id,
        listing,
        me.client.clone(),
    )
    .await
    {
        Ok(0) => me.flash_ok("変更はありませんでした。", "Nothing was changed."),
        Ok(n) => me.flash_ok(
            &format!("登録内容を変更しました（{n} 項目）。"),
            &format!("The details were changed ({n} fields)."),
        ),
        Err(e) => return Ok(me.refused(e, &back)),
    }
    Ok(see_other(&back))
}

fn refuse(me: &Admin, e: &ParseError, back: &str) -> HttpResponse {
    me.flash_error(&e.message_ja, &e.message_en);
    see_other(back)
}
