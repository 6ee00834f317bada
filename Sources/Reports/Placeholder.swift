// The Reports module: the markdown + SVG report made from a run file.
