//! The vanthu REST API on actix-web: routes, authentication, access control at the edge, problem+json errors, OpenAPI.
//!
//! Handlers are thin: they authenticate through [`auth::Authenticated`], ask the access
//! policy through [`auth::Authenticated::authorize`], call the store on a blocking thread and
//! return [`error::ApiError`], which [`error`] turns into `application/problem+json`.

pub mod audit;
pub mod auth;
pub mod authenticator;
pub mod certificates;
pub mod copies;
pub mod csc;
pub mod delegations;
pub mod error;
pub mod files;
pub mod handling;
pub mod health;
pub mod images;
pub mod incoming;
pub mod interchange;
pub mod json;
pub mod kept_signers;
pub mod media;
pub mod metrics;
pub mod openapi;
pub mod outgoing;
pub mod page;
mod parsed_certificates;
pub mod password;
pub mod registers;
pub mod reports;
pub mod reports_page;
pub mod request_span;
pub mod security;
pub mod signing_keys;
pub mod state;
pub mod token;
pub mod token_keys;
pub mod units;
pub mod users;
mod validation;

/// The workspace's external judges for tests (`VANTHU_REQUIRE_TOOLS`): pyHanko's verdicts.
#[cfg(test)]
#[path = "../../../tests/common/oracles.rs"]
mod oracles;
/// The gate for the external tools `oracles` runs.
#[cfg(test)]
#[path = "../../../tests/common/tools.rs"]
mod tools;
pub mod verify;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use crate::error::ApiError;
pub use crate::metrics::Metrics;
pub use crate::password::Hashing;
pub use crate::state::{AppState, Limits, SignerRevocation, SigningSettings};

/// How long running requests may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Starts serving the API on an already bound listener (bind port 0 to get a free port).
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let openapi = openapi::ApiDoc::openapi();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(security::head_as_get))
            .wrap(from_fn(metrics::record))
            .wrap(TracingLogger::<request_span::RequestSpan>::new())
            .wrap(from_fn(request_span::assign_request_id))
            .wrap(from_fn(security::harden))
            .configure(error::extractor_errors)
            .configure(routes)
            .service(web::redirect("/api/docs", "/api/docs/"))
            .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", openapi.clone()))
            // The documentation service answers GET only; other methods reach these: 405.
            .service(resource("/api/openapi.json", GET))
            .service(resource("/api/docs/{_:.*}", GET))
            .default_service(web::to(no_route))
    })
    .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
    .listen(listener)?
    .run();
    Ok(server)
}

/// Registers every API route. Each path is one resource so that a wrong method gets 405.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz", GET).route(web::get().to(health::healthz)))
        .service(resource("/readyz", GET).route(web::get().to(health::readyz)))
        .service(resource("/metrics", GET).route(web::get().to(metrics::metrics)))
        .service(resource(reports_page::PATH, GET).route(web::get().to(reports_page::show)))
        .service(
            resource(reports_page::LOGIN_PATH, POST).route(web::post().to(reports_page::login)),
        )
        .service(
            resource(reports_page::LOGOUT_PATH, POST).route(web::post().to(reports_page::logout)),
        )
        .configure(csc::routes)
        .service(
            web::scope("/api/v1")
                .service(resource("/auth/login", POST).route(web::post().to(auth::login)))
                .service(resource("/auth/logout", POST).route(web::post().to(auth::logout)))
                .service(resource("/me", GET).route(web::get().to(users::me)))
                .service(
                    resource("/me/signing-key", GET_POST)
                        .route(web::get().to(signing_keys::status))
                        .route(web::post().to(signing_keys::enrol)),
                )
                .service(
                    resource("/me/authenticator", POST).route(web::post().to(authenticator::add)),
                )
                .service(
                    resource("/me/authenticator/confirm", POST)
                        .route(web::post().to(authenticator::confirm)),
                )
                .service(
                    resource("/me/signing-pin", PUT).route(web::put().to(signing_keys::change_pin)),
                )
                .service(
                    resource("/me/signing-sessions", POST)
                        .route(web::post().to(signing_keys::open_session)),
                )
                .service(
                    resource("/me/signing-sessions/{id}", DELETE)
                        .route(web::delete().to(signing_keys::end_session)),
                )
                .service(
                    resource("/units", GET_POST)
                        .route(web::get().to(units::list_units))
                        .route(web::post().to(units::create_unit)),
                )
                .service(
                    resource("/units/{id}", GET_PATCH)
                        .route(web::get().to(units::get_unit))
                        .route(web::patch().to(units::update_unit)),
                )
                .service(
                    resource("/users", GET_POST)
                        .route(web::get().to(users::list_users))
                        .route(web::post().to(users::create_user)),
                )
                .service(
                    resource("/users/{id}", GET_PATCH)
                        .route(web::get().to(users::get_user))
                        .route(web::patch().to(users::update_user)),
                )
                .service(resource("/files", POST).route(web::post().to(files::upload)))
                .service(resource("/files/{sha256}", GET).route(web::get().to(files::download)))
                .service(
                    resource("/incoming", GET_POST)
                        .route(web::get().to(incoming::list))
                        .route(web::post().to(incoming::receive)),
                )
                .service(
                    resource("/incoming/paper", POST)
                        .route(web::post().to(incoming::receive_paper)),
                )
                .service(resource("/incoming/{id}", GET).route(web::get().to(incoming::get)))
                .service(
                    resource("/incoming/{id}/files/{revision}", GET)
                        .route(web::get().to(incoming::download)),
                )
                .service(
                    resource("/incoming/{id}/register", POST)
                        .route(web::post().to(incoming::register)),
                )
                .service(
                    resource("/incoming/{id}/return", POST)
                        .route(web::post().to(incoming::return_to_sender)),
                )
                .service(
                    resource("/incoming/{id}/assign", POST).route(web::post().to(incoming::assign)),
                )
                .service(
                    resource("/incoming/{id}/progress", POST)
                        .route(web::post().to(incoming::progress)),
                )
                .service(
                    resource("/incoming/{id}/forward", POST)
                        .route(web::post().to(incoming::forward)),
                )
                .service(
                    resource("/incoming/{id}/complete", POST)
                        .route(web::post().to(incoming::complete)),
                )
                .service(
                    resource("/outgoing", GET_POST)
                        .route(web::get().to(outgoing::list))
                        .route(web::post().to(outgoing::create)),
                )
                .service(
                    resource("/outgoing/paper", POST).route(web::post().to(outgoing::record_paper)),
                )
                .service(resource("/outgoing/{id}", GET).route(web::get().to(outgoing::get)))
                .service(
                    resource("/outgoing/{id}/files/{revision}", GET)
                        .route(web::get().to(outgoing::download)),
                )
                .service(
                    resource("/outgoing/{id}/revisions", POST)
                        .route(web::post().to(outgoing::revise)),
                )
                .service(
                    resource("/outgoing/{id}/comments", POST)
                        .route(web::post().to(outgoing::comment)),
                )
                .service(
                    resource("/outgoing/{id}/approve", POST)
                        .route(web::post().to(outgoing::approve)),
                )
                .service(
                    resource("/outgoing/{id}/return", POST)
                        .route(web::post().to(outgoing::return_draft)),
                )
                .service(
                    resource("/outgoing/{id}/sign", POST).route(web::post().to(outgoing::sign)),
                )
                .service(
                    resource("/outgoing/{id}/sign/prepare", POST)
                        .route(web::post().to(outgoing::prepare_signature)),
                )
                .service(
                    resource("/outgoing/{id}/sign/complete", POST)
                        .route(web::post().to(outgoing::complete_signature)),
                )
                .service(
                    resource("/outgoing/{id}/issue", POST).route(web::post().to(outgoing::issue)),
                )
                .service(
                    resource("/outgoing/{id}/release", POST)
                        .route(web::post().to(outgoing::release)),
                )
                .service(
                    resource("/outgoing/{id}/recall", POST).route(web::post().to(outgoing::recall)),
                )
                .service(
                    resource("/outgoing/{id}/revoke", POST).route(web::post().to(outgoing::revoke)),
                )
                .service(
                    resource("/outgoing/{id}/update", POST).route(web::post().to(outgoing::update)),
                )
                .service(
                    resource("/outgoing/{id}/replace", POST)
                        .route(web::post().to(outgoing::replace)),
                )
                .service(
                    resource("/interchange/inbox", POST).route(web::post().to(interchange::inbox)),
                )
                .service(
                    resource("/interchange/outbox", GET).route(web::get().to(interchange::outbox)),
                )
                .service(
                    resource("/me/signature-image", GET_PUT)
                        .route(web::get().to(images::get_signature))
                        .route(web::put().to(images::put_signature)),
                )
                .service(
                    resource("/units/{id}/seal-image", GET_PUT)
                        .route(web::get().to(images::get_seal))
                        .route(web::put().to(images::put_seal)),
                )
                .service(
                    resource("/outgoing/{id}/copies", GET_POST)
                        .route(web::get().to(copies::outgoing_copies))
                        .route(web::post().to(copies::copy_outgoing)),
                )
                .service(
                    resource("/incoming/{id}/copies", GET_POST)
                        .route(web::get().to(copies::incoming_copies))
                        .route(web::post().to(copies::copy_incoming)),
                )
                .service(resource("/copies/{id}/file", GET).route(web::get().to(copies::download)))
                .service(
                    resource("/incoming/{id}/recall-response", POST)
                        .route(web::post().to(incoming::recall_response)),
                )
                .service(
                    resource("/registers/incoming", GET).route(web::get().to(registers::incoming)),
                )
                .service(
                    resource("/registers/outgoing", GET).route(web::get().to(registers::outgoing)),
                )
                .service(resource("/reports/ratios", GET).route(web::get().to(reports::ratios)))
                .service(
                    resource("/reports/incoming-handling", GET)
                        .route(web::get().to(handling::incoming)),
                )
                .service(
                    resource("/reports/outgoing-handling", GET)
                        .route(web::get().to(handling::outgoing)),
                )
                .service(
                    resource("/delegations", GET_POST)
                        .route(web::get().to(delegations::list))
                        .route(web::post().to(delegations::create)),
                )
                .service(
                    resource("/delegations/{id}", GET_DELETE)
                        .route(web::get().to(delegations::get))
                        .route(web::delete().to(delegations::revoke)),
                )
                .service(resource("/verify", POST).route(web::post().to(verify::verify_upload)))
                .service(resource("/audit/entries", GET).route(web::get().to(audit::entries)))
                .service(resource("/certificates", GET).route(web::get().to(certificates::list)))
                .service(resource("/audit/checkpoint", GET).route(web::get().to(audit::checkpoint)))
                .service(resource("/audit/key", GET).route(web::get().to(audit::key)))
                .service(
                    resource("/audit/proof/inclusion", GET).route(web::get().to(audit::inclusion)),
                )
                .service(
                    resource("/audit/proof/consistency", GET)
                        .route(web::get().to(audit::consistency)),
                )
                .service(
                    resource("/documents/{id}/history", GET).route(web::get().to(audit::history)),
                )
                .default_service(web::to(no_route)),
        );
}

// HEAD is answered wherever GET is (see `security::head_as_get`).
const GET: &str = "GET, HEAD";
const POST: &str = "POST";
const GET_POST: &str = "GET, HEAD, POST";
const GET_PATCH: &str = "GET, HEAD, PATCH";
const GET_PUT: &str = "GET, HEAD, PUT";
const PUT: &str = "PUT";
const DELETE: &str = "DELETE";
const GET_DELETE: &str = "GET, HEAD, DELETE";

/// A resource answering other methods with 405 and the `Allow` header.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow })
    }))
}

async fn no_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NoRoute)
}
