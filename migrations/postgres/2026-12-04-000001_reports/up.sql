-- The auditors' ratio reports (docs/ratios.md): incoming documents recorded as received on
-- paper, the completion time of the handling, and the report counters.

-- 'paper': a document that arrived on paper and was entered in the register without a file.
ALTER TABLE incoming_documents ADD COLUMN medium TEXT NOT NULL DEFAULT 'electronic'
    CHECK (medium IN ('electronic', 'paper'));
-- When the handling was declared complete (unix milliseconds).
ALTER TABLE incoming_documents ADD COLUMN completed_at BIGINT;
UPDATE incoming_documents SET completed_at = (
    SELECT MAX(e.at) FROM incoming_events e
    WHERE e.document_id = incoming_documents.id AND e.action = 'complete')
WHERE state = 'completed';

-- What every document contributes to the ratios, summed per unit and per calendar day in
-- Vietnam (grain 'd', period = days since 1970-01-01) and per month (grain 'm', period = the
-- day number of the month's first day). Maintained in the transaction of each step that
-- changes a contribution; rebuilt from the documents by the store after this migration.
CREATE TABLE report_counts (
    grain TEXT NOT NULL CHECK (grain IN ('d', 'm')),
    period INTEGER NOT NULL,
    unit_id BIGINT NOT NULL REFERENCES units (id),
    incoming_received BIGINT NOT NULL DEFAULT 0,
    incoming_paper BIGINT NOT NULL DEFAULT 0,
    incoming_processed BIGINT NOT NULL DEFAULT 0,
    incoming_returned BIGINT NOT NULL DEFAULT 0,
    signatures_valid BIGINT NOT NULL DEFAULT 0,
    signatures_untrusted BIGINT NOT NULL DEFAULT 0,
    signatures_invalid BIGINT NOT NULL DEFAULT 0,
    signatures_unsigned BIGINT NOT NULL DEFAULT 0,
    outgoing_issued BIGINT NOT NULL DEFAULT 0,
    outgoing_paper BIGINT NOT NULL DEFAULT 0,
    outgoing_signed BIGINT NOT NULL DEFAULT 0,
    completed_on_time BIGINT NOT NULL DEFAULT 0,
    completed_late BIGINT NOT NULL DEFAULT 0,
    completed_without_deadline BIGINT NOT NULL DEFAULT 0,
    -- +1 on the first day a registered document is past its deadline, -1 on the day it
    -- stops being open and overdue: the sum up to a day is what is open past the deadline then.
    overdue_change BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, period, unit_id)
);
