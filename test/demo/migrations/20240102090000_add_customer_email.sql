-- migrate:up
ALTER TABLE customers ADD COLUMN email text;

-- migrate:down
ALTER TABLE customers DROP COLUMN email;
