//! `GET /token` and `POST /token`: sign in with a PAT or a workload token (or nothing,
//! for anonymous pulls) and receive a registry token.
