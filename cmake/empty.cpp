// Keeps libraries whose folder has no sources yet a valid STATIC target.
