//! Signing in over HTTP, as the tests that check each answer of the flow do (the
//! browser walks sign in through the form instead).

use std::time::Duration;

use crate::common::Berth;

/// A client that follows no redirects, so each answer of the sign-in flow is seen.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The `Set-Cookie` of `name` in `r`, whole.
pub fn set_cookie(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", r.headers()))
}

/// `name=value` of a `Set-Cookie`, as a `Cookie` header sends it back.
pub fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The sign-in form's cookie and CSRF field.
pub fn sign_in_form(berth: &Berth) -> (String, String) {
    let r = client().get(berth.url("/login")).send().unwrap();
    assert_eq!(r.status(), 200);
    let cookie = pair(&set_cookie(&r, "berth_sign_in"));
    let html = r.text().unwrap();
    let csrf = html
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a csrf field in {html}"))
        .to_owned();
    (cookie, csrf)
}

/// POSTs the sign-in form with these fields (and the form's cookie, if given).
pub fn post_sign_in(
    berth: &Berth,
    cookie: &str,
    fields: &[(&str, &str)],
) -> reqwest::blocking::Response {
    client()
        .post(berth.url("/login"))
        .header("cookie", cookie)
        .form(fields)
        .send()
        .unwrap()
}

/// Signs `login` in with `token`; the session cookie's whole `Set-Cookie`.
pub fn sign_in(berth: &Berth, login: &str, token: &str) -> String {
    let (cookie, csrf) = sign_in_form(berth);
    let r = post_sign_in(
        berth,
        &cookie,
        &[("login", login), ("token", token), ("csrf", &csrf)],
    );
    assert_eq!(r.status(), 303, "{}", r.text().unwrap());
    assert_eq!(r.headers()["location"], "/");
    set_cookie(&r, "berth_session")
}

pub fn get_as(berth: &Berth, path: &str, session: &str) -> (u16, String) {
    let r = client()
        .get(berth.url(path))
        .header("cookie", pair(session))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}
