# Install and export rules (filled in by the packaging work).
