-- Runs once, when compose.yaml's PostgreSQL starts on an empty volume: a database for the MLflow
-- tracking server beside the server's own (POSTGRES_DB), and pgvector for the vector stores.
CREATE DATABASE mlflow;
CREATE EXTENSION IF NOT EXISTS vector;
