//! Table definitions shared by both backends; must match migrations/sqlite and
//! migrations/postgres.

diesel::table! {
    units (id) {
        id -> BigInt,
        parent_id -> Nullable<BigInt>,
        code -> Text,
        name -> Text,
        level -> Text,
        path -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        unit_id -> BigInt,
        roles -> Text,
        password_hash -> Text,
        disabled -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    files (sha256, unit_id) {
        sha256 -> Text,
        unit_id -> BigInt,
        size -> BigInt,
        media_type -> Text,
        uploaded_by -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    certificates (id) {
        id -> BigInt,
        owner_user_id -> Nullable<BigInt>,
        owner_unit_id -> Nullable<BigInt>,
        purpose -> Text,
        subject -> Text,
        serial -> Text,
        not_before -> BigInt,
        not_after -> BigInt,
        cert_pem -> Text,
        key_pkcs8_encrypted -> Nullable<Binary>,
        created_at -> BigInt,
    }
}

diesel::joinable!(users -> units (unit_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(files -> units (unit_id));

diesel::allow_tables_to_appear_in_same_query!(units, users, sessions, files, certificates);
