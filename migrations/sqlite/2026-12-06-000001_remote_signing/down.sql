DROP TABLE csc_authorizations;
DROP TABLE totp_authenticators;
