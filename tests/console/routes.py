"""Every console route, found in the application itself, so a new page is covered by the
access tests the day it is added."""

from __future__ import annotations

from fastapi import FastAPI

PUBLIC = {
    ("GET", "/console"),  # only a redirect to /console/
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("GET", "/console/static/{name}"),
    ("GET", "/console/lang/{locale}"),
}
EXAMPLES = {
    "{n}": "1",
    "{locale}": "en",
    "{name}": "console.css",
    "{rest:path}": "nowhere",
    "{officer_id}": "1",
    "{queue_id}": "2",
    "{message_id}": "1",
}
# Pages for some roles only: anyone else gets the same 404 as for a page that does not exist.
RESTRICTED = (
    "/console/dashboard",
    "/console/admin/",
    "/console/audit/verify",
    "/console/campaigns",
    "/console/reports",
)


def console_routes(web: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route under /console."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers became lazy
        found = [(getattr(r, "path", None), getattr(r, "methods", None)) for r in web.routes]
    else:
        found = [(c.path, c.methods) for c in iter_route_contexts(web.routes)]
    return sorted(
        (method, path)
        for path, methods in found
        if path and path.startswith("/console")
        for method in methods or ()
        if method != "HEAD"
    )


def concrete(path: str, tip_id: str) -> str:
    path = path.replace("{tip_id}", tip_id)
    for placeholder, value in EXAMPLES.items():
        path = path.replace(placeholder, value)
    assert "{" not in path, f"add an example value for {path}"
    return path


def form_for(path: str) -> dict[str, str]:
    """Plausible fields for each form, so a refusal is about access, not about input."""
    if path.endswith("/status"):
        return {"status": "closed", "disposition": "unfounded"}
    if path.endswith("/outcome"):
        return {"arrests": "1", "seizures_grams": "2"}
    if path.endswith("/forward"):
        return {"queue_id": "1"}
    if path.endswith(("/ask", "/notes")):
        return {"text": "Một câu hỏi"}
    if path.endswith("/totp"):
        return {"code": "123456"}
    if path.endswith(("/grant", "/revoke")):
        return {"queue_id": "2"}
    if path == "/console/admin/queues":
        return {"commune": "Cầu Giấy"}
    if path == "/console/admin/officers":
        return {
            "username": "canbo.moi",
            "display_name": "Cán bộ mới",
            "role": "officer",
            "password": "mat-khau-moi-dai",
            "password_again": "mat-khau-moi-dai",
        }
    return {}


def restricted(path: str) -> bool:
    """A page only some roles may open (dashboard, admin, checking the audit chain)."""
    return path.startswith(RESTRICTED)
