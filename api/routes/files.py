"""/files: a finished video's files behind short-lived signed URLs (local runs; production presigns)."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, RedirectResponse

from api import videos
from api.deps import StateDep
from api.downloads import ARTIFACT_NAME
from api.errors import ApiError, not_found
from api.models import ErrorResponse
from nexus_core.storage_keys import VIDEO_ID_PATTERN

router = APIRouter(prefix="/files", tags=["files"])


@router.get(
    "/{video_id}/{artifact}", response_class=FileResponse, response_model=None,
    responses={200: {"content": {"video/mp4": {}, "image/jpeg": {}, "text/vtt": {}}, "description": "The file."},
               307: {"description": "The object store is S3: a presigned URL of the file (Location)."},
               403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)
def download(
    video_id: Annotated[str, Path(pattern=VIDEO_ID_PATTERN)],
    artifact: Annotated[str, Path(pattern=ARTIFACT_NAME.pattern)],
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,128}$")],
    state: StateDep,
) -> FileResponse | RedirectResponse:
    """The file, when the link's signature is valid and it has not expired (on S3: a redirect to it, presigned)."""
    if not state.links.signer.verify(video_id, artifact, expires, signature):
        raise ApiError(403, "invalid_link", "this download link is invalid or has expired; ask for the video again")
    with state.db.read() as session:
        artifacts = videos.artifacts_of(session, video_id=video_id)
    key = (artifacts or {}).get(artifact)
    if key is None:
        raise not_found("file")
    presigned = state.links.presigned(key)
    if presigned is not None:
        return RedirectResponse(presigned, status_code=307, headers={"Cache-Control": "private, no-store"})
    try:
        path = state.links.path_of(key)
    except ValueError as exc:
        raise not_found("file") from exc
    if not path.is_file():
        raise not_found("file")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, filename=f"{video_id}-{path.name}",
                        headers={"Cache-Control": "private, max-age=300"})
