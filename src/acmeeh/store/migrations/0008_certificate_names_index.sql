-- Admin search by name must stay flat with millions of certificates: a GIN index on the
-- names array answers `names @> ARRAY[name]` (store/search.py).
CREATE INDEX certificates_names_idx ON certificates USING gin (names);
