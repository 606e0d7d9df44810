-- Up Migration

-- Checks repeat the validators' rules so that no code path can store what the API would refuse.
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  password_hash text NOT NULL,
  first_name text NOT NULL,
  last_name text NOT NULL,
  is_active boolean NOT NULL DEFAULT false,
  is_staff boolean NOT NULL DEFAULT false,
  is_superuser boolean NOT NULL DEFAULT false,
  thumbnail text,
  date_joined timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
  CONSTRAINT users_first_name_length CHECK (char_length(first_name) BETWEEN 1 AND 150),
  CONSTRAINT users_last_name_length CHECK (char_length(last_name) BETWEEN 1 AND 150),
  CONSTRAINT users_thumbnail_length CHECK (char_length(thumbnail) BETWEEN 1 AND 2048)
);

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE user_profile (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  phone_number text,
  birth_date date,
  github_link text,
  CONSTRAINT user_profile_phone_number_e164 CHECK (phone_number ~ '^\+[1-9][0-9]{1,14}$'),
  CONSTRAINT user_profile_birth_date_range CHECK (birth_date >= DATE '1900-01-01'),
  CONSTRAINT user_profile_github_link_form CHECK (
    github_link ~ '^https://github\.com/[A-Za-z0-9](-?[A-Za-z0-9])*$'
    AND char_length(github_link) <= 58
  )
);

-- Down Migration

DROP TABLE user_profile;
DROP TABLE users;
