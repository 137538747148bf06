-- The application database the example provisions into (SQLite): one row per user, and
-- each user's mail quota, which must lie between 1 and 10000 MB.
CREATE TABLE IF NOT EXISTS users (
    name      TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    mail      TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS quotas (
    name TEXT PRIMARY KEY REFERENCES users(name),
    mb   INTEGER NOT NULL CHECK (mb BETWEEN 1 AND 10000)
);
