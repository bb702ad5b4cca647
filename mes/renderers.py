"""API renderers; a module of its own so that DRF settings can import it early."""

from csp.constants import UNSAFE_INLINE
from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's HTML view of the API, allowed the inline styles its templates carry.

    Only these HTML pages get ``style-src 'unsafe-inline'``; scripts stay
    file-only and every other page keeps the strict policy (docs/security.md).
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": [UNSAFE_INLINE]}
        return super().render(data, accepted_media_type, renderer_context)
