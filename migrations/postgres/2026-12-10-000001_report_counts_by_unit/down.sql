DROP INDEX report_counts_by_unit;
