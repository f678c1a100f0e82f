DROP TABLE signing_sessions;
DROP TABLE signing_keys;
ALTER TABLE certificates DROP COLUMN chain_pem;
ALTER TABLE certificates ADD COLUMN key_pkcs8_encrypted BLOB;
