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

diesel::table! {
    incoming_documents (id) {
        id -> BigInt,
        unit_id -> BigInt,
        state -> Text,
        issuing_body -> Text,
        number_notation -> Text,
        document_date -> Text,
        document_type -> Text,
        summary -> Text,
        urgency -> Integer,
        due_date -> Nullable<Text>,
        search_text -> Text,
        verification -> Text,
        verification_report -> Text,
        received_by -> BigInt,
        received_at -> BigInt,
        received_year -> Integer,
        arrival_year -> Nullable<Integer>,
        arrival_number -> Nullable<BigInt>,
        registered_at -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    incoming_files (document_id, revision) {
        document_id -> BigInt,
        revision -> Integer,
        sha256 -> Text,
        size -> BigInt,
        added_by -> BigInt,
        added_at -> BigInt,
    }
}

diesel::table! {
    incoming_events (id) {
        id -> BigInt,
        document_id -> BigInt,
        action -> Text,
        state -> Text,
        actor_id -> BigInt,
        at -> BigInt,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    incoming_assignees (document_id, position) {
        document_id -> BigInt,
        position -> Integer,
        user_id -> Nullable<BigInt>,
        unit_id -> Nullable<BigInt>,
        deadline -> Text,
    }
}

diesel::table! {
    incoming_register_counters (unit_id, year) {
        unit_id -> BigInt,
        year -> Integer,
        last_number -> BigInt,
    }
}

diesel::table! {
    audit_queue (id) {
        id -> BigInt,
        entry -> Binary,
        unit_path -> Nullable<Text>,
    }
}

diesel::table! {
    audit_entries (seq) {
        seq -> BigInt,
        entry -> Binary,
        leaf_hash -> Binary,
        time_ms -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_unit_id -> Nullable<BigInt>,
        unit_path -> Nullable<Text>,
        action -> Text,
        object_kind -> Nullable<Text>,
        object_id -> Nullable<BigInt>,
        outcome -> Text,
    }
}

diesel::table! {
    audit_nodes (node) {
        node -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    audit_checkpoints (id) {
        id -> BigInt,
        size -> BigInt,
        root -> Binary,
        note -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_tree (id) {
        id -> Integer,
        size -> BigInt,
        root -> Binary,
        border -> Binary,
        last_leaf -> Binary,
    }
}

diesel::joinable!(users -> units (unit_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(files -> units (unit_id));
diesel::joinable!(incoming_documents -> units (unit_id));
diesel::joinable!(incoming_events -> users (actor_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    users,
    sessions,
    files,
    certificates,
    incoming_documents,
    incoming_files,
    incoming_events,
    incoming_assignees,
    incoming_register_counters,
    audit_queue,
    audit_entries,
    audit_nodes,
    audit_checkpoints,
    audit_tree,
);
