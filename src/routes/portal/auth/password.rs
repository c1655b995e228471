//! The admin's own password: the change owed after an initial or expired password, and a
//! change at will. Every other session of the account ends with it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::super::view::{self, Chrome, PortalError, render, see_other};
use super::super::{SignedIn, keys};
use super::start_session;
use crate::domain::Password;
use crate::services::auth;
use crate::services::auth_error::AuthError;
use crate::services::portal::{self, Step};

#[derive(Template)]
#[template(path = "admin/auth/password.html")]
struct PasswordPage {
    c: Chrome,
    must_change: bool,
    /// The change is owed because the password expired (not an initial one).
    expired: bool,
    errors: Vec<String>,
    min_length: usize,
    hint: String,
}

fn password_page_for(me: &SignedIn, errors: Vec<String>) -> PasswordPage {
    let min = me.state.settings.passwords.min_length;
    PasswordPage {
        c: me.chrome("password"),
        must_change: me.step == Step::PasswordChange,
        expired: me.step == Step::PasswordChange && !me.employee.password_must_change,
        errors,
        min_length: min,
        hint: me
            .t(
                &format!("{min}文字以上、72バイト以内。職員番号を含むもの、よく使われるものは使えません。"),
                &format!("At least {min} characters, at most 72 bytes; not containing your employee ID, not a common password."),
            )
            .to_owned(),
    }
}

/// The password is changed only once the second factor is proven (a stolen password alone
/// must not be able to change it and sign the owner out everywhere), also by a session opened
/// before the account had one.
async fn before_second_factor(me: &SignedIn) -> Result<Option<HttpResponse>, PortalError> {
    if me.step == Step::SecondFactor {
        return Ok(Some(see_other(me.step.page())));
    }
    if !me.amr.has_second_factor() {
        let owed = portal::next_step(&me.state, me.employee.clone(), me.amr).await?;
        if owed == Step::SecondFactor {
            me.session
                .insert(keys::STEP, owed.as_str())
                .map_err(|e| PortalError::Internal(e.to_string()))?;
            return Ok(Some(see_other(owed.page())));
        }
    }
    Ok(None)
}

pub(super) async fn page(me: SignedIn) -> Result<HttpResponse, PortalError> {
    if let Some(go) = before_second_factor(&me).await? {
        return Ok(go);
    }
    Ok(view::page(&password_page_for(&me, Vec::new())))
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub(super) async fn change(
    me: SignedIn,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PortalError> {
    if let Some(go) = before_second_factor(&me).await? {
        return Ok(go);
    }
    let form = form.into_inner();
    let again = |errors: Vec<String>| {
        Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &password_page_for(&me, errors),
        ))
    };
    if form.new_password != form.confirm_password {
        return again(vec![
            me.t(
                "確認用のパスワードが一致しません。",
                "The two new passwords do not match.",
            )
            .to_owned(),
        ]);
    }
    let (current, new) = match (
        Password::parse(form.current_password, "currentPassword"),
        Password::parse(form.new_password, "newPassword"),
    ) {
        (Ok(c), Ok(n)) => (c, n),
        (Err(e), _) | (_, Err(e)) => {
            return again(vec![me.t(&e.message_ja, &e.message_en).to_owned()]);
        }
    };
    let result = auth::change_password_of(
        &me.state,
        me.employee.clone(),
        false,
        Some(current),
        new,
        me.client.clone(),
        |_, _, fresh, _| Ok(fresh.clone()),
    )
    .await;
    match result {
        Ok(fresh) => {
            // Every session of the account ended with the change; this one continues anew,
            // at whatever the account still owes (setting up a second factor).
            let step = portal::next_step(&me.state, fresh.clone(), me.amr).await?;
            start_session(&me.session, &me.state, &fresh.id, step, me.amr, &me.client)?;
            me.flash_ok(
                "パスワードを変更しました。ほかの端末はサインアウトしました。",
                "Your password was changed. Your other sessions were signed out.",
            );
            Ok(see_other(step.page()))
        }
        Err(AuthError::Locked { until }) => {
            // Locked by this very form: the session ends, the sign-in page says until when.
            me.session.purge();
            Err(PortalError::Redirect(format!(
                "/admin/login?locked={}",
                until.timestamp()
            )))
        }
        // The one password on this form that can be wrong is the current one.
        Err(AuthError::InvalidCredentials) => again(vec![
            me.t(
                "現在のパスワードが正しくありません。",
                "The current password is wrong.",
            )
            .to_owned(),
        ]),
        Err(e) => match PortalError::from(e) {
            PortalError::Refused(x) => again(vec![x.text(me.lang).to_owned()]),
            other => Err(other),
        },
    }
}
