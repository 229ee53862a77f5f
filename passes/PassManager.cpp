// placeholder, replaced by the pass manager
