//! Domain model of vanthu: units, users, roles and who may do what, free of SQL and HTTP.
