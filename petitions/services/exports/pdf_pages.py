"""Joining the delivery PDF's parts with pikepdf (qpdf): pages in order, then "page x of y" on top.

Typst compiles the document in parts (front matter, chunks of the list, closing block) so that
memory stays flat however long the list is. Each part is spooled to an anonymous temporary file
(gone when closed, even after a crash) and its pages are appended to one output document; qpdf
copies page content lazily from those files when the output is written, so the parts never sit
in memory together. The total page count is only known at the end, so the running header and the
page numbers are a last small Typst document of transparent pages, laid over the joined ones.
Files can be attached too (the canonical list of signatories), compressed as they are read.
"""

from __future__ import annotations

import hashlib
import tempfile
import zlib
from contextlib import ExitStack
from typing import BinaryIO

import pikepdf

# The list chunks write, in a link on every page, which list item the page starts with (as
# ``2 * items done``, odd when the page starts with an item's comment). Removed from the output.
MARKER_PREFIX = "https://carry.invalid/"


class PageJoiner:
    """Collects the parts' pages; call :meth:`close` (or use as a context manager) to free files."""

    def __init__(self) -> None:
        self.output = pikepdf.new()
        self._files = ExitStack()

    def __enter__(self) -> PageJoiner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.output.close()
        self._files.close()

    @property
    def page_count(self) -> int:
        return len(self.output.pages)

    def open_part(self, pdf: bytes) -> pikepdf.Pdf:
        """Spool one compiled part to a temporary file and open it (kept open until the end)."""
        spool = self._files.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (closed by close())
        spool.write(pdf)
        spool.seek(0)
        return self._files.enter_context(pikepdf.open(spool))

    def append(self, part: pikepdf.Pdf) -> None:
        for page in part.pages:
            _strip_markers(page)
        self.output.pages.extend(part.pages)

    def overlay(self, furniture: bytes, start: int) -> None:
        """Lay page *i* of ``furniture`` over page *start + i* of the output."""
        layer = self.open_part(furniture)
        pages = self.output.pages[start : start + len(layer.pages)]
        for page, top in zip(pages, layer.pages, strict=True):
            page.add_overlay(top, pikepdf.Rectangle(page.mediabox))

    def attach(self, name: str, data: BinaryIO, *, mime_type: str, description: str) -> None:
        """Embed ``data`` (read from its start, in blocks) as the attached file ``name``.

        Compressed here as it is read, so only the compressed bytes (a fraction of the file)
        are ever held in memory; qpdf writes an already compressed stream as it is.
        """
        packer, checksum, size, packed = zlib.compressobj(6), hashlib.md5(), 0, []  # noqa: S324
        data.seek(0)
        while block := data.read(1 << 20):
            checksum.update(block)  # the /CheckSum PDF readers expect (MD5, not for security)
            size += len(block)
            packed.append(packer.compress(block))
        packed.append(packer.flush())
        stream = pikepdf.Stream(self.output, b"")
        stream.write(b"".join(packed), filter=pikepdf.Name.FlateDecode)
        del packed
        stream.Type = pikepdf.Name.EmbeddedFile
        stream.Subtype = pikepdf.Name("/" + mime_type)  # written as /application#2Fjsonl
        stream.Params = pikepdf.Dictionary(Size=size, CheckSum=pikepdf.String(checksum.digest()))
        spec = self.output.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Filespec,
                F=pikepdf.String(name),
                UF=pikepdf.String(name),
                Desc=pikepdf.String(description),
                EF=pikepdf.Dictionary(F=stream, UF=stream),
                AFRelationship=pikepdf.Name.Data,
            )
        )
        names = self.output.Root.get("/Names") or pikepdf.Dictionary()
        if "/EmbeddedFiles" not in names:
            names.EmbeddedFiles = self.output.make_indirect(pikepdf.NameTree.new(self.output).obj)
        self.output.Root.Names = names
        pikepdf.NameTree(names.EmbeddedFiles)[name] = spec
        self.output.Root.AF = pikepdf.Array([*self.output.Root.get("/AF", []), spec])

    def save(self, out: BinaryIO, *, title: str, language: str) -> None:
        with self.output.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = title  # copied to the document information /Title as well
            meta["pdf:Producer"] = "petitions (Typst, qpdf)"
        self.output.Root.Lang = pikepdf.String(language)
        self.output.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
        self.output.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)


def _link_target(annot: pikepdf.Object) -> str:
    """The URI an annotation links to, or "" (markers are links to ``MARKER_PREFIX…``)."""
    action = annot.get("/A")
    if not isinstance(action, pikepdf.Dictionary):
        return ""
    return str(action.get("/URI", ""))


def first_item_on_last_page(part: pikepdf.Pdf) -> int | None:
    """The marker value on a chunk's last page, or None if it has none."""
    for annot in part.pages[-1].obj.get("/Annots", []):
        uri = _link_target(annot)
        if uri.startswith(MARKER_PREFIX):
            return int(uri.removeprefix(MARKER_PREFIX))
    return None


def _strip_markers(page: pikepdf.Page) -> None:
    annots = page.obj.get("/Annots")
    if annots is None:
        return
    kept = [a for a in annots if not _link_target(a).startswith(MARKER_PREFIX)]
    if kept:
        page.obj.Annots = pikepdf.Array(kept)
    else:
        del page.obj["/Annots"]
