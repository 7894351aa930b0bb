-- One PostgreSQL server, one database per service (each service uses the database named
-- after it on DATABASE_URL's server: shared_kernel.settings.service_database_url).
CREATE DATABASE ledger;
CREATE DATABASE tickets;
CREATE DATABASE risk;
CREATE DATABASE gateway;
