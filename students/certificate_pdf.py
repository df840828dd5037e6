"""A certificate as a one-page PDF (reportlab): what it certifies, and how to verify it.

The verification address is printed and encoded in a QR code, both absolute (educa.site), so
that a printed copy leads back to the certificate's page.
"""

import io
from pathlib import Path

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from educa.site import absolute_url

from .models import Certificate

# Reportlab's built-in fonts know Latin-1 only; a Unicode font prints any student's name.
_FONT_FILES = {
    "CertificateSans": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "CertificateSans-Bold": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
}
_FALLBACK_FONTS = {"CertificateSans": "Helvetica", "CertificateSans-Bold": "Helvetica-Bold"}
QR_SIZE = 40 * mm


def _font(name: str) -> str:
    """The registered font `name`, or reportlab's built-in stand-in when its file is missing."""
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    path = _FONT_FILES[name]
    if not path.exists():
        return _FALLBACK_FONTS[name]
    pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


def certificate_verification_url(certificate: Certificate) -> str:
    """The absolute address of the certificate's public page."""
    return absolute_url(reverse("certificate_detail", args=[certificate.pk]))


def _qr_code(url: str) -> Drawing:
    widget = QrCodeWidget(url)
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(
        QR_SIZE,
        QR_SIZE,
        transform=[QR_SIZE / (right - left), 0, 0, QR_SIZE / (top - bottom), 0, 0],
    )
    drawing.add(widget)
    return drawing


def certificate_pdf(certificate: Certificate) -> bytes:
    """The certificate as PDF bytes: name, course, instructor, date, id and where to verify."""
    regular, bold = _font("CertificateSans"), _font("CertificateSans-Bold")
    url = certificate_verification_url(certificate)
    buffer = io.BytesIO()
    width, height = landscape(A4)
    pdf = Canvas(buffer, pagesize=(width, height))
    pdf.setTitle(_("Certificate of completion"))
    pdf.setAuthor("Educa")
    pdf.setLineWidth(2)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    centre = width / 2
    # The language's own way: "December 5, 2026", "5 de diciembre de 2026".
    issued_on = formats.date_format(timezone.localtime(certificate.issued_at), "DATE_FORMAT")
    lines = [
        (bold, 30, _("Certificate of completion"), 160 * mm),
        (regular, 14, _("This certifies that"), 140 * mm),
        (bold, 26, certificate.student_name, 124 * mm),
        (regular, 14, _("has completed the course"), 108 * mm),
        (bold, 20, certificate.course_title, 94 * mm),
        (regular, 14, _("taught by %(name)s") % {"name": certificate.instructor_name}, 80 * mm),
        (
            regular,
            14,
            _("on %(date)s") % {"date": issued_on},
            70 * mm,
        ),
    ]
    for font, size, text, y in lines:
        # A long name or title is set smaller rather than run off the page.
        while size > 8 and pdfmetrics.stringWidth(text, font, size) > width - 40 * mm:
            size -= 1
        pdf.setFont(font, size)
        pdf.drawCentredString(centre, y, text)
    pdf.setFont(regular, 9)
    pdf.drawString(24 * mm, 30 * mm, _("Certificate %(id)s") % {"id": certificate.pk})
    pdf.drawString(24 * mm, 24 * mm, _("Verify it at %(url)s") % {"url": url})
    pdf.linkURL(url, (24 * mm, 22 * mm, width / 2, 28 * mm), relative=0)
    renderPDF.draw(_qr_code(url), pdf, width - 24 * mm - QR_SIZE, 20 * mm)
    pdf.linkURL(
        url, (width - 24 * mm - QR_SIZE, 20 * mm, width - 24 * mm, 20 * mm + QR_SIZE), relative=0
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
