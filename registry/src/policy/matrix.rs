//! The permission matrix: every principal × visibility × token scope × action, each row
//! stating its expected answer. `docs/permissions.md` renders this same table; a test
//! checks that the two agree (`BERTH_BLESS=1` rewrites the document's table).

use berth_crds::access::Visibility::{self, *};
use berth_crds::organization::Organization;
use berth_crds::package::{Package, PackageSpec, PackageStatus, Publisher};

use super::{Action, Decision, PolicySettings, PolicySnapshot, can_create, decide};
use crate::auth::identity::{Identity, Scopes, Subject};

/// The organization every row runs against.
const ORG: &str = r#"
apiVersion: berth.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  owners: [olivia]
  members: [mike, paul]
  teams:
    - {name: devs, members: [tess]}
  packageCreation: {private: false, internal: true, public: true}
  repositories:
    - name: app
      url: https://git.example.com/acme/app
      access: [{team: devs, role: write}]
    - name: other
      url: https://git.example.com/acme/other
"#;

/// `acme/app`, published by paul, linked to `acme/app` and inheriting its access.
fn package(visibility: Visibility) -> Package {
    let mut spec = PackageSpec::new("acme", "app");
    spec.visibility = visibility;
    spec.repository = Some("https://git.example.com/acme/app.git".into());
    spec.inherit_access = Some(true);
    let mut p = Package::new("acme.app", spec);
    p.status = Some(PackageStatus {
        publisher: Some(Publisher {
            user: Some("paul".into()),
            repository: None,
        }),
        ..Default::default()
    });
    p
}

fn snapshot(visibility: Visibility) -> PolicySnapshot {
    let org: Organization = serde_saphyr::from_str(ORG).unwrap();
    let settings = PolicySettings {
        site_admins: vec!["root".into()],
        anonymous_pulls: true,
    };
    PolicySnapshot::build([&org], [&package(visibility)], &settings)
}

const READ: Scopes = Scopes {
    read: true,
    write: false,
    delete: false,
};
const WRITE: Scopes = Scopes {
    read: true,
    write: true,
    delete: false,
};
const DELETE: Scopes = Scopes::ALL;

fn principal(who: &str, scopes: Scopes) -> Identity {
    let workload = |repository: &str| Identity {
        subject: Subject::Workload {
            repository: repository.into(),
            user: None,
            teams: vec![],
        },
        scopes,
    };
    match who {
        "anonymous" => Identity::anonymous(),
        "publisher" => Identity::user("paul", scopes),
        "org owner" => Identity::user("olivia", scopes),
        "member" => Identity::user("mike", scopes),
        "team member" => Identity::user("tess", scopes),
        "outside user" => Identity::user("eve", scopes),
        "site admin" => Identity::user("root", scopes),
        "linked-repository workload" => workload("acme/app"),
        "other-repository workload" => workload("acme/other"),
        other => panic!("no principal {other}"),
    }
}

/// The answer, as the table writes it.
fn outcome(d: &Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Create => "create",
        Decision::Unauthenticated => "401",
        Decision::Hidden => "404",
        Decision::Forbidden(_) => "403",
    }
}

/// principal, visibility, token scopes, then pull / push / delete on `acme/app`, and
/// create (a first push of a new package in `acme` with that visibility).
#[rustfmt::skip]
const MATRIX: &[(&str, Visibility, &str, [&str; 4])] = &[
    ("anonymous",                  Private,  "-",      ["401",   "401",   "401",   "401"]),
    ("anonymous",                  Internal, "-",      ["401",   "401",   "401",   "401"]),
    ("anonymous",                  Public,   "-",      ["allow", "401",   "401",   "401"]),
    ("publisher",                  Private,  "read",   ["allow", "403",   "403",   "403"]),
    ("publisher",                  Private,  "write",  ["allow", "allow", "403",   "403"]),
    ("publisher",                  Private,  "delete", ["allow", "allow", "allow", "403"]),
    ("publisher",                  Internal, "read",   ["allow", "403",   "403",   "403"]),
    ("publisher",                  Internal, "write",  ["allow", "allow", "403",   "create"]),
    ("publisher",                  Internal, "delete", ["allow", "allow", "allow", "create"]),
    ("publisher",                  Public,   "read",   ["allow", "403",   "403",   "403"]),
    ("publisher",                  Public,   "write",  ["allow", "allow", "403",   "create"]),
    ("publisher",                  Public,   "delete", ["allow", "allow", "allow", "create"]),
    ("org owner",                  Private,  "read",   ["allow", "403",   "403",   "403"]),
    ("org owner",                  Private,  "write",  ["allow", "allow", "403",   "create"]),
    ("org owner",                  Private,  "delete", ["allow", "allow", "allow", "create"]),
    ("org owner",                  Internal, "read",   ["allow", "403",   "403",   "403"]),
    ("org owner",                  Internal, "write",  ["allow", "allow", "403",   "create"]),
    ("org owner",                  Internal, "delete", ["allow", "allow", "allow", "create"]),
    ("org owner",                  Public,   "read",   ["allow", "403",   "403",   "403"]),
    ("org owner",                  Public,   "write",  ["allow", "allow", "403",   "create"]),
    ("org owner",                  Public,   "delete", ["allow", "allow", "allow", "create"]),
    ("member",                     Private,  "read",   ["404",   "403",   "404",   "403"]),
    ("member",                     Private,  "write",  ["404",   "403",   "404",   "403"]),
    ("member",                     Private,  "delete", ["404",   "403",   "404",   "403"]),
    ("member",                     Internal, "read",   ["allow", "403",   "403",   "403"]),
    ("member",                     Internal, "write",  ["allow", "403",   "403",   "create"]),
    ("member",                     Internal, "delete", ["allow", "403",   "403",   "create"]),
    ("member",                     Public,   "read",   ["allow", "403",   "403",   "403"]),
    ("member",                     Public,   "write",  ["allow", "403",   "403",   "create"]),
    ("member",                     Public,   "delete", ["allow", "403",   "403",   "create"]),
    ("team member",                Private,  "read",   ["allow", "403",   "403",   "403"]),
    ("team member",                Private,  "write",  ["allow", "allow", "403",   "403"]),
    ("team member",                Private,  "delete", ["allow", "allow", "403",   "403"]),
    ("team member",                Internal, "read",   ["allow", "403",   "403",   "403"]),
    ("team member",                Internal, "write",  ["allow", "allow", "403",   "create"]),
    ("team member",                Internal, "delete", ["allow", "allow", "403",   "create"]),
    ("team member",                Public,   "read",   ["allow", "403",   "403",   "403"]),
    ("team member",                Public,   "write",  ["allow", "allow", "403",   "create"]),
    ("team member",                Public,   "delete", ["allow", "allow", "403",   "create"]),
    ("outside user",               Private,  "read",   ["404",   "403",   "404",   "403"]),
    ("outside user",               Private,  "write",  ["404",   "403",   "404",   "403"]),
    ("outside user",               Private,  "delete", ["404",   "403",   "404",   "403"]),
    ("outside user",               Internal, "read",   ["404",   "403",   "404",   "403"]),
    ("outside user",               Internal, "write",  ["404",   "403",   "404",   "403"]),
    ("outside user",               Internal, "delete", ["404",   "403",   "404",   "403"]),
    ("outside user",               Public,   "read",   ["allow", "403",   "403",   "403"]),
    ("outside user",               Public,   "write",  ["allow", "403",   "403",   "403"]),
    ("outside user",               Public,   "delete", ["allow", "403",   "403",   "403"]),
    ("site admin",                 Private,  "read",   ["allow", "403",   "403",   "403"]),
    ("site admin",                 Private,  "write",  ["allow", "allow", "403",   "create"]),
    ("site admin",                 Private,  "delete", ["allow", "allow", "allow", "create"]),
    ("site admin",                 Internal, "read",   ["allow", "403",   "403",   "403"]),
    ("site admin",                 Internal, "write",  ["allow", "allow", "403",   "create"]),
    ("site admin",                 Internal, "delete", ["allow", "allow", "allow", "create"]),
    ("site admin",                 Public,   "read",   ["allow", "403",   "403",   "403"]),
    ("site admin",                 Public,   "write",  ["allow", "allow", "403",   "create"]),
    ("site admin",                 Public,   "delete", ["allow", "allow", "allow", "create"]),
    ("linked-repository workload", Private,  "read",   ["allow", "403",   "403",   "403"]),
    ("linked-repository workload", Private,  "write",  ["allow", "allow", "403",   "403"]),
    ("linked-repository workload", Private,  "delete", ["allow", "allow", "allow", "403"]),
    ("linked-repository workload", Internal, "read",   ["allow", "403",   "403",   "403"]),
    ("linked-repository workload", Internal, "write",  ["allow", "allow", "403",   "create"]),
    ("linked-repository workload", Internal, "delete", ["allow", "allow", "allow", "create"]),
    ("linked-repository workload", Public,   "read",   ["allow", "403",   "403",   "403"]),
    ("linked-repository workload", Public,   "write",  ["allow", "allow", "403",   "create"]),
    ("linked-repository workload", Public,   "delete", ["allow", "allow", "allow", "create"]),
    ("other-repository workload",  Private,  "read",   ["404",   "403",   "404",   "403"]),
    ("other-repository workload",  Private,  "write",  ["404",   "403",   "404",   "403"]),
    ("other-repository workload",  Private,  "delete", ["404",   "403",   "404",   "403"]),
    ("other-repository workload",  Internal, "read",   ["404",   "403",   "404",   "403"]),
    ("other-repository workload",  Internal, "write",  ["404",   "403",   "404",   "create"]),
    ("other-repository workload",  Internal, "delete", ["404",   "403",   "404",   "create"]),
    ("other-repository workload",  Public,   "read",   ["allow", "403",   "403",   "403"]),
    ("other-repository workload",  Public,   "write",  ["allow", "403",   "403",   "create"]),
    ("other-repository workload",  Public,   "delete", ["allow", "403",   "403",   "create"]),
];

fn scopes(name: &str) -> Scopes {
    match name {
        "read" => READ,
        "write" => WRITE,
        "delete" | "-" => DELETE,
        other => panic!("no scope set {other}"),
    }
}

/// The four answers for one row, from the real evaluation.
fn evaluate(who: &str, visibility: Visibility, scope: &str) -> [&'static str; 4] {
    let snap = snapshot(visibility);
    let id = principal(who, scopes(scope));
    let on_app = |a| outcome(&decide(&snap, &id, "acme", "app", a));
    // Creating: a first push of a new package in `acme`, of this row's visibility.
    let create = if id.is_anonymous() {
        "401"
    } else if can_create(&snap, &id, "acme", visibility) {
        "create"
    } else {
        "403"
    };
    [
        on_app(Action::Pull),
        on_app(Action::Push),
        on_app(Action::Delete),
        create,
    ]
}

#[test]
fn every_row_of_the_matrix_holds() {
    let mut wrong = Vec::new();
    for (who, visibility, scope, want) in MATRIX {
        let got = evaluate(who, *visibility, scope);
        if got != *want {
            wrong.push(format!(
                "{who} / {} / {scope}: want {want:?}, got {got:?}",
                visibility.as_str()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_matrix_covers_every_axis() {
    let principals = [
        "anonymous",
        "publisher",
        "org owner",
        "member",
        "team member",
        "outside user",
        "site admin",
        "linked-repository workload",
        "other-repository workload",
    ];
    for who in principals {
        for v in [Private, Internal, Public] {
            let scope_sets: &[&str] = if who == "anonymous" {
                &["-"]
            } else {
                &["read", "write", "delete"]
            };
            for s in scope_sets {
                assert!(
                    MATRIX
                        .iter()
                        .any(|(w, vv, ss, _)| w == &who && vv == &v && ss == s),
                    "missing row {who} / {} / {s}",
                    v.as_str()
                );
            }
        }
    }
    assert_eq!(MATRIX.len(), 3 + 8 * 3 * 3);
}

/// The matrix as `docs/permissions.md` shows it.
fn render() -> String {
    let mut out = String::from(
        "| principal | visibility | token scopes | pull | push | delete | create |\n|---|---|---|---|---|---|---|\n",
    );
    for (who, visibility, scope, [pull, push, delete, create]) in MATRIX {
        let scope = match *scope {
            "-" => "none (anonymous)",
            "read" => "read:packages",
            "write" => "write:packages",
            _ => "write:packages, delete:packages",
        };
        out.push_str(&format!(
            "| {who} | {} | {scope} | {pull} | {push} | {delete} | {create} |\n",
            visibility.as_str()
        ));
    }
    out
}

#[test]
fn docs_show_this_matrix() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/permissions.md");
    let doc = std::fs::read_to_string(path).expect("docs/permissions.md");
    let (begin, end) = ("<!-- matrix:begin -->\n", "<!-- matrix:end -->");
    let start = doc.find(begin).expect("matrix:begin marker") + begin.len();
    let stop = doc.find(end).expect("matrix:end marker");
    let table = render();
    if std::env::var_os("BERTH_BLESS").is_some() {
        std::fs::write(path, format!("{}{table}{}", &doc[..start], &doc[stop..])).unwrap();
        return;
    }
    assert_eq!(
        doc[start..stop],
        table,
        "docs/permissions.md's matrix drifted from policy/matrix.rs; rerun with BERTH_BLESS=1"
    );
}
