//! The second step of a portal sign-in, and setting up an authenticator app (owed by an admin
//! without a second factor, or chosen from the security page). New recovery codes are shown
//! once, on the page that answers the confirmation.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::super::view::{self, Chrome, PortalError, render, see_other};
use super::super::{SignedIn, keys};
use crate::domain::{Amr, SecondCode};
use crate::services::auth_error::AuthError;
use crate::services::mfa::{self, RecoveryCodes};
use crate::services::portal::{self, Step};

#[derive(Template)]
#[template(path = "admin/auth/second_factor.html")]
struct SecondFactorPage {
    c: Chrome,
    error: Option<String>,
    /// Which factors the account has: the page offers what can be used.
    totp: bool,
    passkeys: bool,
}

#[derive(Template)]
#[template(path = "admin/auth/enrol.html")]
pub(in crate::routes::portal) struct EnrolPage {
    pub c: Chrome,
    pub qr_data_url: String,
    pub secret_grouped: String,
    pub otpauth_uri: String,
    pub error: Option<String>,
    /// Owed before the portal can be used (not chosen from the security page).
    pub owed: bool,
    /// A passkey may be registered instead (the public URL can be a relying party).
    pub passkeys_available: bool,
}

#[derive(Template)]
#[template(path = "admin/auth/recovery_codes.html")]
pub(in crate::routes::portal) struct RecoveryCodesPage {
    pub c: Chrome,
    pub codes: Vec<String>,
    pub next: String,
    /// Shown right after setting up the authenticator app (else: after regenerating).
    pub enrolled: bool,
}

pub(in crate::routes::portal) fn codes_page(
    me: &SignedIn,
    codes: &RecoveryCodes,
    next: &str,
    enrolled: bool,
) -> HttpResponse {
    let mut res = view::page(&RecoveryCodesPage {
        c: me.chrome("step"),
        codes: codes.grouped(),
        next: next.to_owned(),
        enrolled,
    });
    // Shown once: never kept by a cache, never restored by the back button.
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    res
}

/// Records in the session what it has now proven and the step it now stands at.
pub(super) fn advance(me: &SignedIn, amr: Amr, step: Step) -> Result<(), PortalError> {
    let internal = |e: actix_session::SessionInsertError| PortalError::Internal(e.to_string());
    me.session
        .insert(keys::AMR, amr.as_stored())
        .map_err(internal)?;
    me.session
        .insert(keys::STEP, step.as_str())
        .map_err(internal)
}

/// The second step was proven: the session is renewed with the stronger `amr` and goes on to
/// the next step, or to the page the sign-in started from.
pub(super) async fn passed(me: &SignedIn, proof: mfa::Proof) -> Result<HttpResponse, PortalError> {
    let amr = match proof {
        mfa::Proof::Passkey => me.amr.with_hwk(),
        mfa::Proof::Totp | mfa::Proof::RecoveryCode { .. } => me.amr.with_otp(),
    };
    let step = portal::next_step(&me.state, me.employee.clone(), amr).await?;
    let next = me
        .session
        .remove_as::<String>(keys::NEXT)
        .and_then(Result::ok)
        .map_or_else(|| "/admin".to_owned(), |n| view::safe_next(Some(&n)));
    // A stronger session gets a new id (no fixation across the step).
    me.session.renew();
    advance(me, amr, step)?;
    if let mfa::Proof::RecoveryCode { left } = proof {
        me.flash_ok(
            &format!("リカバリーコードでサインインしました。残りは{left}個です。セキュリティ設定で新しいコードを発行できます。"),
            &format!("Signed in with a recovery code; {left} left. You can issue new codes on the security page."),
        );
    }
    Ok(see_other(match step {
        Step::Complete => &next,
        other => other.page(),
    }))
}

pub(super) async fn second_factor_page(
    me: &SignedIn,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PortalError> {
    let factors = mfa::factors(&me.state, me.employee.id).await?;
    Ok(render(
        status,
        &SecondFactorPage {
            c: me.chrome("step"),
            error,
            totp: factors.totp_since.is_some(),
            passkeys: factors.passkeys > 0,
        },
    ))
}

pub(super) async fn page(me: SignedIn) -> Result<HttpResponse, PortalError> {
    if me.step != Step::SecondFactor {
        return Ok(see_other(me.step.page()));
    }
    second_factor_page(&me, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    code: String,
}

pub(super) async fn submit(
    me: SignedIn,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PortalError> {
    if me.step != Step::SecondFactor {
        return Ok(see_other(me.step.page()));
    }
    let code = match SecondCode::parse(&form.code, "code") {
        Ok(c) => c,
        Err(e) => {
            let text = me.t(&e.message_ja, &e.message_en).to_owned();
            return second_factor_page(&me, StatusCode::UNPROCESSABLE_ENTITY, Some(text)).await;
        }
    };
    match mfa::verify(&me.state, me.employee.clone(), code, me.client.clone()).await {
        Ok(proof) => passed(&me, proof).await,
        Err(e @ (AuthError::InvalidCode | AuthError::MfaLocked { .. })) => {
            let x = crate::services::explain::Explain::explain(&e);
            second_factor_page(&me, x.status, Some(x.text(me.lang).to_owned())).await
        }
        Err(e) => Err(e.into()),
    }
}

fn origin(me: &SignedIn) -> mfa::Origin {
    mfa::Origin::Portal {
        session_ref: me.session_ref.clone(),
    }
}

/// Enrolment is open to a session that owes it and to a complete one (from the security page).
fn may_enrol(me: &SignedIn) -> bool {
    matches!(me.step, Step::Enrol | Step::Complete)
}

pub(in crate::routes::portal) async fn enrol_view(
    me: &SignedIn,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PortalError> {
    let offer = match mfa::begin_totp(&me.state, &me.employee, &origin(me), false).await {
        Ok(o) => o,
        Err(AuthError::AlreadyEnrolled) => {
            // Set up meanwhile (in another session): go on to whatever is owed now.
            let step = portal::next_step(&me.state, me.employee.clone(), me.amr).await?;
            advance(me, me.amr, step)?;
            me.flash_error(
                "認証アプリはすでに設定されています。",
                "An authenticator app is already set up.",
            );
            return Ok(see_other(match step {
                Step::Complete => "/admin/security",
                other => other.page(),
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let mut res = render(
        status,
        &EnrolPage {
            c: me.chrome(if me.step == Step::Enrol {
                "step"
            } else {
                "security"
            }),
            qr_data_url: offer.qr_data_url,
            secret_grouped: offer.secret.base32_grouped(),
            otpauth_uri: offer.otpauth_uri,
            error,
            owed: me.step == Step::Enrol,
            passkeys_available: mfa::passkeys::available(&me.state),
        },
    );
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

pub(super) async fn enrol_page(me: SignedIn) -> Result<HttpResponse, PortalError> {
    if !may_enrol(&me) {
        return Ok(see_other(me.step.page()));
    }
    enrol_view(&me, StatusCode::OK, None).await
}

pub(super) async fn enrol_confirm(
    me: SignedIn,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PortalError> {
    if !may_enrol(&me) {
        return Ok(see_other(me.step.page()));
    }
    let again = |e: &dyn crate::services::explain::Explain| {
        let x = e.explain();
        (x.status, Some(x.text(me.lang).to_owned()))
    };
    let code = match SecondCode::parse(&form.code, "code") {
        Ok(c @ SecondCode::Totp(_)) => c,
        _ => {
            let (status, error) = again(&AuthError::InvalidCode);
            return enrol_view(&me, status, error).await;
        }
    };
    let confirmed = mfa::confirm_totp(
        &me.state,
        me.employee.clone(),
        origin(&me),
        code,
        me.client.clone(),
    )
    .await;
    match confirmed {
        Ok(codes) => {
            // The code proved the new factor: this session now counts as a two-factor one,
            // under a new id.
            let amr = me.amr.with_otp();
            let step = portal::next_step(&me.state, me.employee.clone(), amr).await?;
            me.session.renew();
            advance(&me, amr, step)?;
            let next = match step {
                Step::Complete => "/admin/security",
                other => other.page(),
            };
            Ok(codes_page(&me, &codes, next, true))
        }
        Err(e @ AuthError::InvalidCode) => {
            let (status, error) = again(&e);
            enrol_view(&me, status, error).await
        }
        // The offer ran out or was replaced (another sign-in opened this page): a new one.
        Err(AuthError::NotEnrolled) => {
            let error = me.t(
                "表示していたQRコードは無効になりました。新しいQRコードを読み取り直してください。",
                "The QR code shown before is no longer valid. Scan the new one.",
            );
            enrol_view(&me, StatusCode::CONFLICT, Some(error.to_owned())).await
        }
        Err(e) => Err(e.into()),
    }
}
