"""Vector stage: glyph bitmaps traced by potrace (``trace``), placed by the glyph set's
geometry (``geometry``), compiled glyph by glyph (``outlines``) in a pool of workers
(``tracepool``), assembled into TrueType or CFF fonts with fontTools (``names``,
``assemble``, ``fontbuild``), checked as browsers and fontconfig will (``check``), shown in
specimens (``specimen``), and used to complete an existing font (``complete``).

Imports inside the package run one way: ``fontbuild`` and ``complete`` use ``tracepool``,
``assemble`` and ``check``; those use ``outlines``, ``names``, ``geometry`` and ``trace``;
``trace`` alone wraps the private ctypes binding ``_libpotrace``."""
