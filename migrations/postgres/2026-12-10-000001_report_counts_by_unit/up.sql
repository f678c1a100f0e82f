-- The ratio report reads a set of units over ranges of days and months. The primary key
-- (grain, period, unit_id) serves a range over every unit; for a list of units it is probed
-- once per unit across the whole range (PostgreSQL read 3.5 million index entries for 500
-- units and two weeks). Keyed by unit first, each probe reads that unit's rows only.
CREATE INDEX report_counts_by_unit ON report_counts (unit_id, grain, period);
