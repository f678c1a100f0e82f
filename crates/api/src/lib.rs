//! The vanthu REST API on actix-web: routes, authentication, access control at the edge, problem+json errors, OpenAPI.
