//! The OpenAPI 3.1 description, generated from the handlers' annotations.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::files::AcceptedKinds;

/// The vanthu REST API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "vanthu",
        description = "Electronic document management and digital signing for Vietnamese public \
                       administration. Errors are application/problem+json (RFC 9457) with a \
                       stable `code`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        crate::auth::login,
        crate::auth::logout,
        crate::users::me,
        crate::signing_keys::enrol,
        crate::signing_keys::status,
        crate::signing_keys::change_pin,
        crate::signing_keys::open_session,
        crate::signing_keys::end_session,
        crate::authenticator::add,
        crate::authenticator::confirm,
        crate::csc::info,
        crate::csc::login,
        crate::csc::list,
        crate::csc::credential_info,
        crate::csc::authorize,
        crate::csc::sign_hash,
        crate::units::list_units,
        crate::units::create_unit,
        crate::units::get_unit,
        crate::units::update_unit,
        crate::users::list_users,
        crate::users::create_user,
        crate::users::get_user,
        crate::users::update_user,
        crate::files::upload,
        crate::files::download,
        crate::incoming::receive,
        crate::incoming::receive_paper,
        crate::incoming::list,
        crate::incoming::get,
        crate::incoming::download,
        crate::incoming::register,
        crate::incoming::return_to_sender,
        crate::incoming::assign,
        crate::incoming::progress,
        crate::incoming::forward,
        crate::incoming::complete,
        crate::outgoing::create,
        crate::outgoing::record_paper,
        crate::outgoing::list,
        crate::outgoing::get,
        crate::outgoing::download,
        crate::outgoing::revise,
        crate::outgoing::comment,
        crate::outgoing::approve,
        crate::outgoing::return_draft,
        crate::outgoing::sign,
        crate::outgoing::prepare_signature,
        crate::outgoing::complete_signature,
        crate::outgoing::issue,
        crate::outgoing::release,
        crate::outgoing::recall,
        crate::outgoing::revoke,
        crate::outgoing::update,
        crate::outgoing::replace,
        crate::incoming::recall_response,
        crate::interchange::inbox,
        crate::interchange::outbox,
        crate::images::put_signature,
        crate::images::get_signature,
        crate::images::put_seal,
        crate::images::get_seal,
        crate::copies::copy_outgoing,
        crate::copies::outgoing_copies,
        crate::copies::copy_incoming,
        crate::copies::incoming_copies,
        crate::copies::download,
        crate::registers::incoming,
        crate::registers::outgoing,
        crate::reports::ratios,
        crate::handling::incoming,
        crate::handling::outgoing,
        crate::delegations::create,
        crate::delegations::list,
        crate::delegations::get,
        crate::delegations::revoke,
        crate::verify::verify_upload,
        crate::audit::entries,
        crate::certificates::list,
        crate::audit::history,
        crate::audit::checkpoint,
        crate::audit::key,
        crate::audit::inclusion,
        crate::audit::consistency,
        crate::health::healthz,
        crate::health::readyz,
        crate::metrics::metrics,
    ),
    components(schemas(crate::error::Problem, vanthu_remote::csc::messages::ErrorResponse)),
    modifiers(&BearerAuth, &CommonResponses, &AcceptedKinds),
    tags(
        (name = "auth", description = "Sign in and out"),
        (name = "units", description = "The unit tree"),
        (name = "users", description = "User accounts"),
        (name = "signing", description = "Your own server-held signing key under your signing PIN, signing sessions, and the authenticator app that approves remote signing"),
        (name = "csc", description = "Remote signing (ký số từ xa) with your server-held key over the Cloud Signature Consortium API v1.0.4: errors here are CSC's `{error, error_description}` as application/json, not problem+json"),
        (name = "files", description = "Document files by content digest"),
        (name = "incoming", description = "Incoming documents (văn bản đến): receive, register, return, assign, handle; signature verification"),
        (name = "outgoing", description = "Outgoing documents (văn bản đi): draft, approve, sign (server-held key or your token), issue with number and seal, release"),
        (name = "interchange", description = "The interchange between agencies (liên thông văn bản): the inbox other installations deliver edXML packages to, and the outbox of packages to deliver"),
        (name = "copies", description = "Electronic copies (sao y, sao lục) of the documents a unit holds, sealed by the unit"),
        (name = "reports", description = "The auditors' ratio reports: processed on the software, signed digitally, on time; per unit, by level, rolled up"),
        (name = "delegations", description = "Delegation (ủy quyền): a leader's assigning and signing lent to a deputy for a range of days"),
        (name = "audit", description = "The tamper-evident audit log: entries, signed checkpoints, verifier key, Merkle proofs"),
        (name = "operations", description = "Probes and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Token from POST /api/v1/auth/login, or access_token from POST \
                         /csc/v1/auth/login (the same sessions)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "Your vanthu username and password, for /csc/v1/auth/login",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "agency",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The secret the agencies configuration gives the delivering agency",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the answers every route of a kind gives, so that no annotation can forget them:
/// 401 on protected routes; 400, 413 and 415 where a body is read; 503 where the database is
/// asked. A route's own description of a status wins. The CSC routes (`/csc/`) get the same
/// answers in the CSC error format instead.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let csc = path.starts_with("/csc/");
            // Only the liveness probe, the metrics and the CSC service's description answer
            // without the database.
            let asks_database = !matches!(path.as_str(), "/healthz" | "/metrics" | "/csc/v1/info");
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                if csc {
                    add_csc_responses(operation, asks_database);
                } else {
                    add_common_responses(operation, asks_database);
                }
            }
        }
    }
}

fn add_common_responses(operation: &mut Operation, asks_database: bool) {
    let protected = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let reads_body = operation.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem_response(description).into());
    };
    if protected {
        add(
            "401",
            "Not signed in, or the session has ended: sign in again",
        );
    }
    if reads_body {
        add("400", "The body is malformed or was cut short");
        add("413", "The body is larger than the server's limit");
        add("415", "The body is not of a media type this route takes");
    }
    if asks_database {
        add("503", "The database is not reachable");
    }
}

/// The CSC routes' share of [`CommonResponses`], in the CSC error format (`ErrorResponse`,
/// application/json); CSC takes no media type but JSON, so there is no 415.
fn add_csc_responses(operation: &mut Operation, asks_database: bool) {
    let protected = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let reads_body = operation.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| response.into());
    };
    if protected {
        add("401", "No valid bearer token (`invalid_token`)");
    }
    if reads_body {
        add("400", "Malformed body (`invalid_request`)");
        add("413", "Body larger than the server's JSON limit");
    }
    if asks_database {
        add(
            "503",
            "The database is not reachable (`temporarily_unavailable`)",
        );
    }
}

/// A problem+json answer.
fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}
