//! Builds the application state and the bound HTTP server; used by `main` and by the tests.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, Service, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};

use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::error::Problem;
use crate::i18n::Lang;
use crate::metrics::Metrics;
use crate::routes;
use crate::services::clock::Clock;
use crate::services::hashing::HashingPool;
use crate::services::jwt::SigningKey;
use crate::services::mail::{DisabledMailer, Mailer, SmtpMailer};
use crate::services::sheets::font::FontCache;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

impl AppState {
    /// Connects the pool and loads (or, in development, generates) the signing key.
    pub fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<AppState, StartupError> {
        let pool = db::build_pool(&settings.database)?;
        Self::with_pool(settings, clock, pool)
    }

    pub fn with_pool(
        settings: Settings,
        clock: Arc<dyn Clock>,
        pool: DbPool,
    ) -> Result<AppState, StartupError> {
        let keys = match &settings.keys.jwt_key_pem {
            Some(pem) => SigningKey::from_pkcs8_pem(pem),
            None if settings.is_production() => {
                return Err(StartupError::Config(
                    "STAFFGATE_JWT_KEY is required in production".into(),
                ));
            }
            None => SigningKey::generate(),
        }
        .map_err(|e| StartupError::Config(e.to_string()))?;
        let session_key = match &settings.keys.session_key {
            Some(bytes) => actix_web::cookie::Key::try_from(bytes.as_slice())
                .map_err(|e| StartupError::Config(format!("STAFFGATE_SESSION_KEY: {e}")))?,
            None if settings.is_production() => {
                return Err(StartupError::Config(
                    "STAFFGATE_SESSION_KEY is required in production".into(),
                ));
            }
            None => actix_web::cookie::Key::generate(),
        };
        let hashing = HashingPool::new(
            settings.passwords.hashing_threads,
            settings.passwords.bcrypt_cost,
        )
        .map_err(|e| StartupError::Config(e.to_string()))?;
        let sheet_font = Arc::new(FontCache::new(settings.sheets.font.clone()));
        let mailer: Arc<dyn Mailer> = match (&settings.mail.smtp_url, &settings.mail.from) {
            (Some(url), Some(from)) => Arc::new(
                SmtpMailer::new(url, from).map_err(|e| StartupError::Config(e.to_string()))?,
            ),
            _ => Arc::new(DisabledMailer),
        };
        Ok(AppState {
            settings: Arc::new(settings),
            pool,
            clock,
            keys: Arc::new(keys),
            hashing,
            metrics: Arc::new(Metrics::default()),
            mailer,
            session_key,
            sheet_font,
        })
    }
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    pub fn build(state: AppState) -> Result<Application, StartupError> {
        let addr = state.settings.http.bind.clone();
        let listener =
            TcpListener::bind(&addr).map_err(|source| StartupError::Bind { addr, source })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        seed_policy(&state);
        let server = serve(listener, state.clone())?;
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let pruner = tokio::spawn(prune_attempts(self.state.clone()));
        let mail = (self.state.mailer.enabled() && self.state.settings.mail.poll_seconds > 0)
            .then(|| tokio::spawn(crate::services::outbox::worker(self.state.clone())));
        let archiver = tokio::spawn(archive_schedule(self.state.clone()));
        let result = self.server.await;
        pruner.abort();
        archiver.abort();
        if let Some(mail) = mail {
            mail.abort();
        }
        result
    }
}

/// Writes the configured expiry policy into `settings` where no value is stored yet. Until it
/// succeeds the configured values apply anyway, so a failure is only logged.
fn seed_policy(state: &AppState) {
    let now = state.clock.now_naive();
    let result = state
        .pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut conn| {
            crate::services::policy::seed(&mut conn, &state.settings, now)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        tracing::warn!(error = %e, "seeding the password policy failed");
    }
}

/// Keeps the rate-limit ledger, the second-step tokens and the portal session table small; every node may run it
/// (the DELETEs are idempotent).
async fn prune_attempts(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = state.clock.now_naive() - chrono::Duration::days(1);
        let now = state.clock.now_naive();
        let rollback_days = state.settings.mfa.rollback_days;
        let result = db::run(&state.pool, move |conn| {
            db::queries::attempts::prune(conn, cutoff)?;
            db::queries::signin_gates::prune(conn, cutoff)?;
            db::queries::mfa_tokens::delete_expired(conn, cutoff)?;
            // Second-factor resets past their rollback window keep their record, not the
            // sealed credentials.
            let closed = now - chrono::Duration::days(rollback_days);
            db::queries::mfa_resets::erase_before(conn, closed, now)?;
            db::queries::portal_sessions::prune(conn, now).map_err(db::DbError::from)
        })
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "pruning login_attempts failed");
        }
    }
}

/// The monthly login-history archive: every node looks hourly; the first to take the
/// archive lock in the night window of a month that has no finished scheduled run runs it.
async fn archive_schedule(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match crate::services::archive::scheduled_tick(&state).await {
            Ok(Some(out)) => tracing::info!(
                archived = out.archived,
                batches = out.batches,
                "monthly login-history archive done"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "monthly login-history archive failed"),
        }
    }
}

fn cors(settings: &Settings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
        ])
        .expose_headers([header::RETRY_AFTER])
        .max_age(3600);
    for origin in &settings.http.cors_origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

fn serve(listener: TcpListener, state: AppState) -> Result<Server, StartupError> {
    let workers = state.settings.http.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let hsts = state.settings.http.public_url.starts_with("https://");
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        let metrics = data.metrics.clone();
        let mut headers = DefaultHeaders::new()
            .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .add((header::X_FRAME_OPTIONS, "DENY"))
            .add((header::REFERRER_POLICY, "no-referrer"))
            .add((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ));
        if hsts {
            headers = headers.add((
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            ));
        }
        App::new()
            .app_data(data.clone())
            .app_data(routes::api::json_config())
            .wrap(cors(&data.settings))
            .wrap(headers)
            .wrap_fn(move |req, srv| {
                let lang = Lang::from_headers(req.headers());
                let metrics = metrics.clone();
                let started = Instant::now();
                let in_flight = metrics.request_started();
                let fut = srv.call(req);
                async move {
                    let res = fut.await?;
                    drop(in_flight);
                    log_refusal(&res);
                    metrics.record_http(res.status().as_u16(), started.elapsed());
                    Ok(localise(res, lang))
                }
            })
            .wrap(tracing_actix_web::TracingLogger::default())
            .service(routes::portal::scope(data.get_ref().clone()))
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .workers(workers)
    .shutdown_timeout(10)
    .listen(listener)
    .map_err(|source| StartupError::Bind {
        addr: "listener".into(),
        source,
    })?
    .run();
    Ok(server)
}

/// Problems are rendered in Japanese (with any request id already in the stored problem);
/// re-render in English when the client asked for it.
fn localise<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
    lang: Lang,
) -> ServiceResponse<actix_web::body::BoxBody> {
    let problem = match lang {
        Lang::En => res.response().extensions().get::<Problem>().cloned(),
        Lang::Ja => None,
    };
    if let Some(problem) = problem {
        let (req, old) = res.into_parts();
        let mut fresh = problem.to_response(Lang::En);
        for (name, value) in old.headers() {
            if !fresh.headers().contains_key(name) {
                fresh.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return ServiceResponse::new(req, fresh);
    }
    res.map_into_boxed_body()
}

/// A request answered from an error: a fault (5xx) is an ERROR, a refusal (4xx) a WARN, and a
/// redirect (a signed-out visitor sent to the sign-in page) nothing at all.
fn log_refusal<B>(res: &actix_web::dev::ServiceResponse<B>) {
    let Some(err) = res.response().error() else {
        return;
    };
    let status = res.status();
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %err, "request failed");
    } else if status.is_client_error() {
        tracing::warn!(status = status.as_u16(), error = %err, "request refused");
    }
}
