DROP TABLE certificates;
DROP TABLE files;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE units;
