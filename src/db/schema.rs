//! Table definitions for the migrations in /migrations. `permission_level` is DECIMAL(4,1)
//! in SQL and read as a Double (MySQL sends decimals as text, which parses exactly).

diesel::table! {
    admin_audit (id) {
        id -> Bigint,
        action -> Varchar,
        actor_ref -> Nullable<Bigint>,
        actor_label -> Nullable<Varchar>,
        client_ip -> Nullable<Varchar>,
        detail -> Nullable<Text>,
        created_at -> Datetime,
    }
}

diesel::table! {
    employees (id) {
        id -> Bigint,
        employee_id -> Varchar,
        name -> Varchar,
        name_kana -> Varchar,
        department -> Varchar,
        email -> Nullable<Varchar>,
        permission_level -> Double,
        status -> Varchar,
        password_hash -> Nullable<Varchar>,
        password_must_change -> Bool,
        password_updated_at -> Nullable<Datetime>,
        password_length_class -> Integer,
        password_expiry_offset_days -> Integer,
        failed_login_count -> Integer,
        locked_until -> Nullable<Datetime>,
        last_login_at -> Nullable<Datetime>,
        created_at -> Datetime,
        updated_at -> Datetime,
        search_key -> Nullable<Varchar>,
    }
}

diesel::table! {
    history_archive_runs (id) {
        id -> Bigint,
        trigger_kind -> Varchar,
        actor_ref -> Nullable<Bigint>,
        actor_label -> Varchar,
        cutoff -> Datetime,
        status -> Varchar,
        rows_archived -> Bigint,
        rows_already_archived -> Bigint,
        batches -> Integer,
        started_at -> Datetime,
        finished_at -> Nullable<Datetime>,
        duration_ms -> Nullable<Bigint>,
        error -> Nullable<Varchar>,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Bigint,
        login_key -> Varchar,
        client_ip -> Varchar,
        success -> Bool,
        settled_at -> Nullable<Datetime>,
        created_at -> Datetime,
    }
}

diesel::table! {
    login_history (id) {
        id -> Bigint,
        event -> Varchar,
        employee_ref -> Nullable<Bigint>,
        employee_code -> Nullable<Varchar>,
        actor_ref -> Nullable<Bigint>,
        client_ip -> Nullable<Varchar>,
        user_agent -> Nullable<Varchar>,
        detail -> Nullable<Text>,
        created_at -> Datetime,
    }
}

diesel::table! {
    login_history_archive (id) {
        id -> Bigint,
        event -> Varchar,
        employee_ref -> Nullable<Bigint>,
        employee_code -> Nullable<Varchar>,
        actor_ref -> Nullable<Bigint>,
        client_ip -> Nullable<Varchar>,
        user_agent -> Nullable<Varchar>,
        detail -> Nullable<Text>,
        created_at -> Datetime,
        archived_at -> Datetime,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Bigint,
        recipient -> Varchar,
        template -> Varchar,
        dedupe_key -> Nullable<Varchar>,
        payload -> Text,
        attempts -> Integer,
        next_attempt_at -> Datetime,
        sent_at -> Nullable<Datetime>,
        failed_at -> Nullable<Datetime>,
        last_error -> Nullable<Varchar>,
        created_at -> Datetime,
    }
}

diesel::table! {
    mfa_resets (id) {
        id -> Bigint,
        target_ref -> Bigint,
        target_code -> Varchar,
        actor_ref -> Nullable<Bigint>,
        actor_label -> Varchar,
        reason -> Varchar,
        created_at -> Datetime,
        key_id -> Nullable<Char>,
        sealed_payload -> Nullable<Text>,
        erased_at -> Nullable<Datetime>,
        rolled_back_at -> Nullable<Datetime>,
        rolled_back_by_ref -> Nullable<Bigint>,
        rolled_back_by_label -> Nullable<Varchar>,
        rollback_reason -> Nullable<Varchar>,
    }
}

diesel::table! {
    mfa_tokens (id) {
        id -> Bigint,
        token_hash -> Binary,
        employee_ref -> Bigint,
        device_label -> Nullable<Varchar>,
        created_at -> Datetime,
        expires_at -> Datetime,
        used_at -> Nullable<Datetime>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Bigint,
        employee_ref -> Bigint,
        credential_id_hash -> Binary,
        label -> Varchar,
        credential -> Text,
        created_at -> Datetime,
        last_used_at -> Nullable<Datetime>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Bigint,
        employee_ref -> Bigint,
        code_hash -> Binary,
        created_at -> Datetime,
        used_at -> Nullable<Datetime>,
    }
}

diesel::table! {
    second_factors (employee_ref) {
        employee_ref -> Bigint,
        totp_sealed -> Nullable<Varchar>,
        totp_key_id -> Nullable<Char>,
        totp_last_step -> Bigint,
        totp_confirmed_at -> Nullable<Datetime>,
        pending_sealed -> Nullable<Varchar>,
        pending_key_id -> Nullable<Char>,
        pending_created_at -> Nullable<Datetime>,
        pending_owner -> Nullable<Varchar>,
        failed_count -> Integer,
        locked_until -> Nullable<Datetime>,
        must_enrol -> Bool,
        updated_at -> Datetime,
    }
}

diesel::table! {
    onetime_tokens (id) {
        id -> Bigint,
        employee_ref -> Bigint,
        token_hash -> Binary,
        purpose -> Varchar,
        issued_by -> Nullable<Bigint>,
        issued_at -> Datetime,
        expires_at -> Datetime,
        used_at -> Nullable<Datetime>,
        revoked_at -> Nullable<Datetime>,
        used_ip -> Nullable<Varchar>,
    }
}

diesel::table! {
    portal_sessions (id) {
        id -> Bigint,
        session_key_hash -> Binary,
        session_ref -> Nullable<Char>,
        state -> Text,
        employee_ref -> Nullable<Bigint>,
        client_ip -> Nullable<Varchar>,
        user_agent -> Nullable<Varchar>,
        created_at -> Datetime,
        last_seen_at -> Datetime,
        expires_at -> Datetime,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Bigint,
        token_hash -> Binary,
        family -> Char,
        employee_ref -> Bigint,
        device_label -> Nullable<Varchar>,
        created_at -> Datetime,
        last_used_at -> Nullable<Datetime>,
        expires_at -> Datetime,
        replaced_by -> Nullable<Bigint>,
        revoked_at -> Nullable<Datetime>,
        amr -> Varchar,
    }
}

diesel::table! {
    settings (name) {
        name -> Varchar,
        value -> Varchar,
        updated_by -> Nullable<Bigint>,
        updated_at -> Datetime,
    }
}

diesel::table! {
    sheet_prints (id) {
        id -> Bigint,
        serial -> Varchar,
        employee_ref -> Bigint,
        token_ref -> Nullable<Bigint>,
        printed_by -> Nullable<Bigint>,
        printed_at -> Datetime,
        reprint_number -> Integer,
    }
}

diesel::table! {
    signin_gates (name) {
        name -> Varchar,
        touched_at -> Datetime,
    }
}

diesel::joinable!(onetime_tokens -> employees (employee_ref));
diesel::joinable!(refresh_tokens -> employees (employee_ref));
diesel::joinable!(sheet_prints -> employees (employee_ref));

diesel::allow_tables_to_appear_in_same_query!(
    admin_audit,
    employees,
    history_archive_runs,
    login_attempts,
    login_history,
    login_history_archive,
    mail_outbox,
    mfa_resets,
    mfa_tokens,
    onetime_tokens,
    passkeys,
    portal_sessions,
    recovery_codes,
    refresh_tokens,
    second_factors,
    settings,
    sheet_prints,
    signin_gates,
);
