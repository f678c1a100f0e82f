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
        created_at -> BigInt,
        chain_pem -> Text,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> BigInt,
        certificate_id -> BigInt,
        owner_user_id -> Nullable<BigInt>,
        owner_unit_id -> Nullable<BigInt>,
        wrap -> Text,
        kdf -> Nullable<Text>,
        salt -> Nullable<Binary>,
        nonce -> Binary,
        ciphertext -> Binary,
        failed_attempts -> Integer,
        blocked_at -> Nullable<BigInt>,
        pin_changed_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    signing_sessions (id) {
        id -> Text,
        user_id -> BigInt,
        signing_key_id -> BigInt,
        nonce -> Binary,
        sealed_key -> Binary,
        created_at -> BigInt,
        expires_at -> BigInt,
        signatures_left -> Integer,
    }
}

diesel::table! {
    totp_authenticators (user_id) {
        user_id -> BigInt,
        signing_key_id -> BigInt,
        nonce -> Binary,
        ciphertext -> Binary,
        last_step -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    csc_authorizations (id) {
        id -> Text,
        user_id -> BigInt,
        signing_key_id -> BigInt,
        nonce -> Binary,
        sealed_key -> Binary,
        hashes -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
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
        source_outgoing_id -> Nullable<BigInt>,
        recall -> Nullable<Text>,
        recall_reason -> Nullable<Text>,
        recalled_at -> Nullable<BigInt>,
        recall_answered_by -> Nullable<BigInt>,
        recall_answered_at -> Nullable<BigInt>,
        reply_outgoing_id -> Nullable<BigInt>,
        medium -> Text,
        completed_at -> Nullable<BigInt>,
        interchange_id -> Nullable<Text>,
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
        on_behalf_of -> Nullable<BigInt>,
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
    outgoing_documents (id) {
        id -> BigInt,
        unit_id -> BigInt,
        state -> Text,
        medium -> Text,
        document_type -> Text,
        summary -> Text,
        urgency -> Integer,
        confidentiality -> Text,
        notation -> Text,
        signer_id -> BigInt,
        signer_position -> Text,
        authority -> Text,
        due_date -> Nullable<Text>,
        search_text -> Text,
        drafted_by -> BigInt,
        drafted_at -> BigInt,
        drafted_year -> Integer,
        signature -> Nullable<Text>,
        signed_at -> Nullable<BigInt>,
        register_year -> Nullable<Integer>,
        series -> Nullable<Text>,
        number -> Nullable<BigInt>,
        number_notation -> Nullable<Text>,
        issued_date -> Nullable<Text>,
        issued_at -> Nullable<BigInt>,
        issued_by -> Nullable<BigInt>,
        document_identifier -> Nullable<Text>,
        released_at -> Nullable<BigInt>,
        updated_at -> BigInt,
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
    outgoing_files (document_id, revision) {
        document_id -> BigInt,
        revision -> Integer,
        kind -> Text,
        sha256 -> Text,
        size -> BigInt,
        added_by -> BigInt,
        added_at -> BigInt,
    }
}

diesel::table! {
    outgoing_events (id) {
        id -> BigInt,
        document_id -> BigInt,
        action -> Text,
        state -> Text,
        actor_id -> BigInt,
        at -> BigInt,
        note -> Nullable<Text>,
        on_behalf_of -> Nullable<BigInt>,
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
    outgoing_recipients (document_id, position) {
        document_id -> BigInt,
        position -> Integer,
        unit_id -> Nullable<BigInt>,
        name -> Nullable<Text>,
        agency_code -> Nullable<Text>,
        incoming_id -> Nullable<BigInt>,
        interchange_status -> Nullable<Text>,
        interchange_status_at -> Nullable<BigInt>,
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
    outgoing_register_counters (unit_id, year, series) {
        unit_id -> BigInt,
        year -> Integer,
        series -> Text,
        last_number -> BigInt,
    }
}

diesel::table! {
    outgoing_prepared_signatures (document_id) {
        document_id -> BigInt,
        base_revision -> Integer,
        prepared_sha256 -> Text,
        prepared_size -> BigInt,
        certificate -> Binary,
        signed_attributes -> Binary,
        digest_algorithm -> Text,
        signature_algorithm -> Text,
        prepared_by -> BigInt,
        expires_at -> BigInt,
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

diesel::table! {
    login_throttle (account, client) {
        account -> Text,
        client -> Text,
        failures -> Integer,
        last_failure_at -> BigInt,
        throttled_until -> BigInt,
    }
}

diesel::joinable!(users -> units (unit_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(files -> units (unit_id));
diesel::joinable!(incoming_documents -> units (unit_id));
diesel::table! {
    delegations (id) {
        id -> BigInt,
        principal_id -> BigInt,
        deputy_id -> BigInt,
        unit_id -> BigInt,
        may_assign -> Bool,
        may_sign -> Bool,
        starts_on -> Text,
        ends_on -> Text,
        note -> Nullable<Text>,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    document_copies (id) {
        id -> BigInt,
        unit_id -> BigInt,
        outgoing_id -> Nullable<BigInt>,
        incoming_id -> Nullable<BigInt>,
        form -> Text,
        pages -> Nullable<Text>,
        source_sha256 -> Text,
        sha256 -> Text,
        size -> BigInt,
        made_by -> BigInt,
        made_at -> BigInt,
    }
}

diesel::table! {
    appearance_images (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        unit_id -> Nullable<BigInt>,
        sha256 -> Text,
        size -> BigInt,
        uploaded_by -> BigInt,
        uploaded_at -> BigInt,
    }
}

diesel::joinable!(incoming_events -> users (actor_id));
diesel::joinable!(outgoing_documents -> units (unit_id));
diesel::joinable!(outgoing_events -> users (actor_id));
diesel::joinable!(signing_keys -> certificates (certificate_id));
diesel::joinable!(signing_sessions -> signing_keys (signing_key_id));
diesel::joinable!(totp_authenticators -> signing_keys (signing_key_id));
diesel::joinable!(csc_authorizations -> signing_keys (signing_key_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    users,
    sessions,
    files,
    certificates,
    signing_keys,
    signing_sessions,
    totp_authenticators,
    csc_authorizations,
    incoming_documents,
    incoming_files,
    incoming_events,
    incoming_assignees,
    incoming_register_counters,
    outgoing_documents,
    outgoing_files,
    outgoing_events,
    outgoing_recipients,
    outgoing_register_counters,
    outgoing_prepared_signatures,
    audit_queue,
    audit_entries,
    delegations,
    document_copies,
    appearance_images,
    audit_nodes,
    audit_checkpoints,
    audit_tree,
);

diesel::table! {
    report_counts (grain, period, unit_id) {
        grain -> Text,
        period -> Integer,
        unit_id -> BigInt,
        incoming_received -> BigInt,
        incoming_paper -> BigInt,
        incoming_processed -> BigInt,
        incoming_returned -> BigInt,
        signatures_valid -> BigInt,
        signatures_untrusted -> BigInt,
        signatures_invalid -> BigInt,
        signatures_unsigned -> BigInt,
        outgoing_issued -> BigInt,
        outgoing_paper -> BigInt,
        outgoing_signed -> BigInt,
        completed_on_time -> BigInt,
        completed_late -> BigInt,
        completed_without_deadline -> BigInt,
        overdue_change -> BigInt,
    }
}

diesel::table! {
    interchange_outbox (id) {
        id -> BigInt,
        unit_id -> BigInt,
        agency_code -> Text,
        document_id -> Text,
        kind -> Text,
        status_code -> Nullable<Text>,
        status_at -> Nullable<BigInt>,
        description -> Nullable<Text>,
        outgoing_id -> Nullable<BigInt>,
        incoming_id -> Nullable<BigInt>,
        package -> Nullable<Text>,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
        acknowledged_at -> Nullable<BigInt>,
        business -> SmallInt,
        lease_holder -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
    }
}

diesel::joinable!(interchange_outbox -> units (unit_id));
diesel::allow_tables_to_appear_in_same_query!(interchange_outbox, units);

diesel::table! {
    token_keys (id) {
        id -> BigInt,
        certificate_id -> BigInt,
        owner_user_id -> BigInt,
        token_label -> Text,
        key_label -> Text,
        failed_attempts -> Integer,
        blocked_at -> Nullable<BigInt>,
        created_at -> BigInt,
        replaced_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(token_keys -> certificates (certificate_id));
diesel::allow_tables_to_appear_in_same_query!(token_keys, certificates);
