"""Images for lessons: uploaded by course authors, typed by their bytes, stored content-addressed and served
publicly at /media/<name> so that lessons can embed them."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from learning.audit import services as audit
from learning.authoring.blueprint import bp, editable_course
from learning.authoring.forms import ImageForm
from learning.extensions import db
from learning.storage import storage
from learning.uploads import IMAGE_TYPES, Upload, UploadError, image_size, image_type, read_capped

MAX_IMAGE_BYTES = 2 * 1024 * 1024
# A small file can declare an enormous picture (a "pixel flood"): every learner's browser would then
# allocate width x height x 4 bytes to show it. 40 million pixels is a 7,000 x 5,700 photograph.
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_SIDE = 16_384
NAME = re.compile(r"^[0-9a-f]{64}\.(png|jpg|gif|webp)$")
TYPES_BY_EXTENSION = {extension: mimetype for mimetype, extension in IMAGE_TYPES.items()}

media = Blueprint("media", __name__)


def sniffed_image(data: bytes) -> Upload:
    mimetype = image_type(data)
    if mimetype is None:
        raise UploadError(_("Upload a PNG, JPEG, GIF or WebP image; this file is none of them."))
    size = image_size(data, mimetype)
    if size is None or 0 in size:
        raise UploadError(_("This image's header is damaged: its size cannot be read."))
    width, height = size
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise UploadError(
            _(
                "The image is %(width)s by %(height)s pixels: at most 40 million pixels, and 16,384 on a "
                "side, are accepted. Make it smaller and upload it again.",
                width=width,
                height=height,
            )
        )
    return Upload(data, mimetype, IMAGE_TYPES[mimetype])


@bp.post("/courses/<slug>/images")
def upload_image(slug: str) -> tuple[str, int] | Response:
    course = editable_course(slug)
    form = ImageForm()
    lesson = form.lesson.data or ""
    back = (
        url_for("authoring.lesson", slug=slug, lesson=lesson)
        if re.fullmatch(r"[a-z0-9][a-z0-9-]*", lesson)
        else url_for("authoring.course", slug=slug)
    )
    if not form.validate_on_submit():
        flash(_("Choose an image file to upload."), "error")
        return redirect(back)
    try:
        data = read_capped(form.image.data.stream, MAX_IMAGE_BYTES, _("The image is larger than 2 MB."))
        image = sniffed_image(data)
    except UploadError as exc:
        return render_template("authoring/image_refused.html", message=exc.message, back=back), exc.status
    name = f"{image.digest}.{image.extension}"
    storage().save(f"images/{name}", image.data)
    audit.record("image.upload", actor_id=current_user.id, course_id=course.id, subject=name)
    db.session.commit()
    alt = (form.alt.data or "").replace("]", "").replace("[", "").strip() or "image"
    flash(_("Image uploaded. Paste this into the lesson: %(md)s", md=f"![{alt}](/media/{name})"), "success")
    return redirect(back)


@media.get("/media/<name>")
def image(name: str) -> Response:
    """A lesson image: inline, typed as sniffed at upload, sandboxed, cacheable (named by its digest)."""
    if not NAME.match(name):
        abort(404)
    try:
        data = storage().load(f"images/{name}")
    except FileNotFoundError:
        abort(404)
    response = Response(data, mimetype=TYPES_BY_EXTENSION[name.rsplit(".", 1)[1]])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
