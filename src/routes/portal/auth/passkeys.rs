//! Passkeys at the portal: registering one (security page, or instead of an app at the owed
//! enrolment step), signing in with one at the second step, removing one.
//!
//! Each ceremony is two requests. The page script asks for options (JSON; the server keeps the
//! challenge in the session), lets the browser talk to the authenticator, then submits the
//! answer as an ordinary form (hidden field `credential`), so the result is the usual
//! POST -> 303 with a flash, or the once-shown recovery-codes page. A kept challenge is taken out
//! of the session when it is read: each one is answered at most once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::{
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
};

use super::super::SignedIn;
use super::super::guard::Admin;
use super::super::view::{PortalError, see_other};
use super::second_factor::{advance, codes_page, passed, second_factor_page};
use crate::services::auth_error::AuthError;
use crate::services::explain::Explain;
use crate::services::mfa::passkeys::{self, PasskeyLabel};
use crate::services::portal::{self, Step};

/// Session keys of the challenges waiting for an answer.
const REGISTRATION: &str = "passkey_reg";
const AUTHENTICATION: &str = "passkey_auth";

/// The JSON answer of an options request that failed: what the page shows.
fn json_refusal(me: &SignedIn, e: AuthError) -> HttpResponse {
    let x = e.explain();
    if x.is_fault() {
        tracing::error!(error = %e, code = x.code, "passkey options failed");
    }
    HttpResponse::build(x.status).json(serde_json::json!({
        "code": x.code,
        "message": x.text(me.lang),
    }))
}

fn keep(me: &SignedIn, key: &str, value: &impl serde::Serialize) -> Result<(), PortalError> {
    me.session
        .insert(key, value)
        .map_err(|e| PortalError::Internal(e.to_string()))
}

/// Takes the kept challenge out of the session (single use); `None` if there is none.
fn take<T: DeserializeOwned>(me: &SignedIn, key: &str) -> Option<T> {
    me.session.remove_as::<T>(key).and_then(Result::ok)
}

/// Registering is open to a session that owes enrolment and to a complete one.
fn may_register(me: &SignedIn) -> bool {
    matches!(me.step, Step::Enrol | Step::Complete)
}

/// Where a registration goes back to on a refusal.
fn register_page(me: &SignedIn) -> &'static str {
    if me.step == Step::Enrol {
        "/admin/mfa/enrol"
    } else {
        "/admin/security"
    }
}

pub(super) async fn registration_options(me: SignedIn) -> Result<HttpResponse, PortalError> {
    if !may_register(&me) {
        return Ok(json_refusal(&me, AuthError::Forbidden));
    }
    match passkeys::start_registration(&me.state, &me.employee).await {
        Ok((options, kept)) => {
            keep(&me, REGISTRATION, &kept)?;
            Ok(HttpResponse::Ok().json(options))
        }
        Err(e) => Ok(json_refusal(&me, e)),
    }
}

#[derive(Deserialize)]
pub(super) struct RegisterForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    credential: String,
}

fn parse_answer<T: DeserializeOwned>(raw: &str) -> Result<T, AuthError> {
    serde_json::from_str(raw).map_err(|_| {
        AuthError::Invalid(crate::domain::ParseError::new(
            "credential",
            "パスキーの応答を読み取れませんでした。もう一度お試しください。",
            "The passkey's answer could not be read. Please try again.",
        ))
    })
}

pub(super) async fn register(
    me: SignedIn,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, PortalError> {
    if !may_register(&me) {
        return Ok(see_other(me.step.page()));
    }
    let back = register_page(&me);
    let Some(kept) = take::<PasskeyRegistration>(&me, REGISTRATION) else {
        me.flash_error(
            "登録の有効期限が切れました。もう一度お試しください。",
            "The registration expired. Please try again.",
        );
        return Ok(see_other(back));
    };
    let label = match PasskeyLabel::parse(&form.label) {
        Ok(l) => l,
        Err(e) => return Ok(refused(&me, AuthError::Invalid(e), back)),
    };
    let answer = match parse_answer::<RegisterPublicKeyCredential>(&form.credential) {
        Ok(a) => a,
        Err(e) => return Ok(refused(&me, e, back)),
    };
    let client = me.client.clone();
    match passkeys::finish_registration(
        &me.state,
        me.employee.clone(),
        label,
        &answer,
        &kept,
        crate::services::mfa::Origin::Portal {
            session_ref: me.session_ref.clone(),
        },
        client,
    )
    .await
    {
        Ok(codes) => {
            // Registering proved the new key with user verification: like a confirmed app,
            // the session now counts as a two-factor one.
            let amr = me.amr.with_hwk();
            let step = portal::next_step(&me.state, me.employee.clone(), amr).await?;
            advance(&me, amr, step)?;
            let next = match step {
                Step::Complete => "/admin/security",
                other => other.page(),
            };
            match codes {
                Some(codes) => Ok(codes_page(&me, &codes, next, true)),
                None => {
                    me.flash_ok("パスキーを登録しました。", "The passkey was registered.");
                    Ok(see_other(next))
                }
            }
        }
        Err(e) => Ok(refused(&me, e, back)),
    }
}

/// A refusal shown on the page at `back`; a fault's cause goes to the log.
fn refused(me: &SignedIn, e: AuthError, back: &str) -> HttpResponse {
    let x = e.explain();
    if x.is_fault() {
        tracing::error!(error = %e, code = x.code, "passkey action failed");
    }
    me.flash_error(&x.ja, &x.en);
    see_other(back)
}

pub(super) async fn sign_in_options(me: SignedIn) -> Result<HttpResponse, PortalError> {
    if me.step != Step::SecondFactor {
        return Ok(json_refusal(&me, AuthError::Forbidden));
    }
    match passkeys::start_authentication(&me.state, &me.employee).await {
        Ok((options, kept)) => {
            keep(&me, AUTHENTICATION, &kept)?;
            Ok(HttpResponse::Ok().json(options))
        }
        Err(e) => Ok(json_refusal(&me, e)),
    }
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    credential: String,
}

pub(super) async fn sign_in(
    me: SignedIn,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PortalError> {
    if me.step != Step::SecondFactor {
        return Ok(see_other(me.step.page()));
    }
    let Some(kept) = take::<PasskeyAuthentication>(&me, AUTHENTICATION) else {
        let text = me.t(
            "パスキーの確認の有効期限が切れました。もう一度お試しください。",
            "The passkey check expired. Please try again.",
        );
        return second_factor_page(&me, StatusCode::UNPROCESSABLE_ENTITY, Some(text.to_owned()))
            .await;
    };
    let answer = match parse_answer::<PublicKeyCredential>(&form.credential) {
        Ok(a) => a,
        Err(e) => return again(&me, e).await,
    };
    match passkeys::verify(
        &me.state,
        me.employee.clone(),
        answer,
        kept,
        me.client.clone(),
    )
    .await
    {
        Ok(proof) => passed(&me, proof).await,
        Err(e @ (AuthError::InvalidCode | AuthError::MfaLocked { .. })) => again(&me, e).await,
        Err(e) => Err(e.into()),
    }
}

/// The second-step page again, saying why the passkey was not accepted.
async fn again(me: &SignedIn, e: AuthError) -> Result<HttpResponse, PortalError> {
    let x = e.explain();
    second_factor_page(me, x.status, Some(x.text(me.lang).to_owned())).await
}

pub(super) async fn remove(me: Admin, id: web::Path<i64>) -> Result<HttpResponse, PortalError> {
    let id = id.into_inner();
    match passkeys::remove(&me.state, me.employee.clone(), id, me.client.clone()).await {
        Ok(()) => {
            me.flash_ok("パスキーを削除しました。", "The passkey was removed.");
            Ok(see_other("/admin/security#passkeys"))
        }
        Err(e) => Ok(me.refused(e, "/admin/security#passkeys")),
    }
}
