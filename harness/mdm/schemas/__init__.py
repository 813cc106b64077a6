"""XML Schemas (XSD 1.0), one per response kind the reference MDM sends."""
