"""githubkit against Berth: list, get, delete and restore a version, through GitHub's typed
Python client. githubkit parses every response with its
pydantic models of GitHub's schema (`parsed_data`), so a missing or mistyped field fails here.

    BASE_URL=http://127.0.0.1:PORT/api/v3 TOKEN=bpat_… SCOPE=org|user|me OWNER=acme \
    PACKAGE=app/tools DELETE_TAG=old .tools/api/py/bin/python scenario.py

SCOPE picks the /orgs/{org}, /users/{username} or /user operations. DELETE_TAG names the
tag of the version to delete and restore. Prints one JSON object of what each step saw;
exits non-zero (with the reason on stderr) when a step answers what GitHub would not.
"""

import json
import os
import sys
from urllib.parse import quote

try:
    from githubkit import GitHub
    from githubkit.exception import RequestFailed
except ImportError as e:  # pragma: no cover - the message is the point
    sys.exit(f"githubkit is not installed ({e}): run `scripts/tools.sh api`")


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set")
    return value


BASE_URL = env("BASE_URL").rstrip("/") + "/"
SCOPE = env("SCOPE")
OWNER = os.environ.get("OWNER", "")
PACKAGE = env("PACKAGE")
DELETE_TAG = env("DELETE_TAG")
# githubkit puts package_name into the path as it is; GitHub wants a nested name's `/`
# as %2F, so a caller escapes it (httpx keeps the escape).
NAME = quote(PACKAGE, safe="")

gh = GitHub(env("TOKEN"), base_url=BASE_URL, auto_retry=False)
pk = gh.rest.packages


def ops():
    """The operations of SCOPE, as functions taking the package's name (and version id)."""
    t = "container"
    if SCOPE == "org":
        return {
            "list": lambda **kw: pk.list_packages_for_organization(OWNER, package_type=t, **kw),
            "get": lambda: pk.get_package_for_organization(t, NAME, OWNER),
            "delete": lambda: pk.delete_package_for_org(t, NAME, OWNER),
            "restore": lambda: pk.restore_package_for_org(t, NAME, OWNER),
            "versions": lambda **kw: pk.get_all_package_versions_for_package_owned_by_org(
                t, NAME, OWNER, **kw
            ),
            "version": lambda v: pk.get_package_version_for_organization(t, NAME, OWNER, v),
            "delete_version": lambda v: pk.delete_package_version_for_org(t, NAME, OWNER, v),
            "restore_version": lambda v: pk.restore_package_version_for_org(t, NAME, OWNER, v),
        }
    if SCOPE == "user":

        def versions(**kw):
            # GitHub's document gives this one operation no page/per_page/state (its
            # clients send them anyway), so githubkit's method takes none: ask through
            # githubkit's own request with the same pydantic model.
            if not kw:
                return pk.get_all_package_versions_for_package_owned_by_user(t, NAME, OWNER)
            from githubkit_schemas.v2026_03_10.models import PackageVersion

            return gh.request(
                "GET",
                f"/users/{OWNER}/packages/{t}/{NAME}/versions",
                params=kw,
                response_model=list[PackageVersion],
            )

        return {
            "list": lambda **kw: pk.list_packages_for_user(OWNER, package_type=t, **kw),
            "get": lambda: pk.get_package_for_user(t, NAME, OWNER),
            "delete": lambda: pk.delete_package_for_user(t, NAME, OWNER),
            "restore": lambda: pk.restore_package_for_user(t, NAME, OWNER),
            "versions": versions,
            "version": lambda v: pk.get_package_version_for_user(t, NAME, v, OWNER),
            "delete_version": lambda v: pk.delete_package_version_for_user(t, NAME, OWNER, v),
            "restore_version": lambda v: pk.restore_package_version_for_user(t, NAME, OWNER, v),
        }
    if SCOPE == "me":
        return {
            "list": lambda **kw: pk.list_packages_for_authenticated_user(package_type=t, **kw),
            "get": lambda: pk.get_package_for_authenticated_user(t, NAME),
            "delete": lambda: pk.delete_package_for_authenticated_user(t, NAME),
            "restore": lambda: pk.restore_package_for_authenticated_user(t, NAME),
            "versions": lambda **kw: pk.get_all_package_versions_for_package_owned_by_authenticated_user(
                t, NAME, **kw
            ),
            "version": lambda v: pk.get_package_version_for_authenticated_user(t, NAME, v),
            "delete_version": lambda v: pk.delete_package_version_for_authenticated_user(t, NAME, v),
            "restore_version": lambda v: pk.restore_package_version_for_authenticated_user(
                t, NAME, v
            ),
        }
    sys.exit(f"SCOPE must be org, user or me, not {SCOPE!r}")


OPS = ops()


def call(step, *args, **kw):
    """Runs one operation; returns (status, pydantic-parsed data or None)."""
    try:
        r = OPS[step](*args, **kw)
    except RequestFailed as e:
        return e.response.status_code, e.response.json() if e.response.content else None
    if r.status_code == 204:
        if r.content:
            sys.exit(f"{step}: 204 with a body: {r.content!r}")
        return 204, None
    return r.status_code, r.parsed_data  # pydantic validation happens here


def expect(step, got, want):
    if got != want:
        sys.exit(f"{step}: expected {want!r}, got {got!r}")


def version_summary(v):
    return {
        "id": v.id,
        "name": v.name,
        "tags": list(v.metadata.container.tags) if v.metadata and v.metadata.container else None,
        "deleted_at": v.deleted_at.isoformat() if v.deleted_at else None,
    }


out = {}

me = gh.rest.users.get_authenticated().parsed_data
out["whoami"] = {"login": me.login, "type": me.type}

if SCOPE == "org":
    org = gh.rest.orgs.get(OWNER).parsed_data
    out["owner"] = {"login": org.login, "type": "Organization"}
elif SCOPE == "user":
    user = gh.rest.users.get_by_username(OWNER).parsed_data
    out["owner"] = {"login": user.login, "type": user.type}

status, packages = call("list")
expect("list packages", status, 200)
out["packages"] = sorted(p.name for p in packages)

status, package = call("get")
expect("get package", status, 200)
out["package"] = {
    "id": package.id,
    "name": package.name,
    "package_type": package.package_type,
    "visibility": package.visibility,
    "version_count": package.version_count,
    "owner": {"login": package.owner.login, "type": package.owner.type} if package.owner else None,
    "url": package.url,
    "html_url": package.html_url,
}

status, versions = call("versions", per_page=100)
expect("list versions", status, 200)
out["versions"] = [version_summary(v) for v in versions]
target = next((v for v in versions if DELETE_TAG in (v.metadata.container.tags or [])), None)
if target is None:
    sys.exit(f"no version is tagged {DELETE_TAG}: {out['versions']}")

status, got = call("version", target.id)
expect("get version", status, 200)
out["version"] = version_summary(got)

expect("delete version", call("delete_version", target.id)[0], 204)
status, active = call("versions", state="active")
expect("list active versions", status, 200)
out["active_after_delete"] = [v.id for v in active]
status, deleted = call("versions", state="deleted")
expect("list deleted versions", status, 200)
out["deleted_after_delete"] = [version_summary(v) for v in deleted]

expect("restore version", call("restore_version", target.id)[0], 204)
status, got = call("version", target.id)
expect("get restored version", status, 200)
out["restored_version"] = version_summary(got)

expect("delete package", call("delete")[0], 204)
status, gone = call("get")
out["get_after_package_delete"] = status
status, packages = call("list")
expect("list packages after the package delete", status, 200)
out["packages_after_package_delete"] = sorted(p.name for p in packages)
expect("restore package", call("restore")[0], 204)

status, package = call("get")
expect("get package after the restore", status, 200)
out["final_package"] = {"id": package.id, "version_count": package.version_count}
status, versions = call("versions", per_page=100)
expect("list versions after the restore", status, 200)
out["final_versions"] = [version_summary(v) for v in versions]

print(json.dumps(out, indent=1))
