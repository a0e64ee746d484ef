--
-- PostgreSQL database dump
--

-- Dumped from database version 15.18
-- Dumped by pg_dump version 15.18

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE FUNCTION public.touch() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  -- a ; inside a function body, and text that looks like INSERT INTO public.faq VALUES (1);
  NEW.updated := now();
  RETURN NEW;
END;
$$;

ALTER FUNCTION public.touch() OWNER TO helpdesk;

CREATE TABLE public.faq (
    id integer NOT NULL,
    question text NOT NULL,
    answer text,
    category character varying(64)
);

ALTER TABLE public.faq OWNER TO helpdesk;

--
-- Data for Name: faq; Type: TABLE DATA; Schema: public; Owner: helpdesk
--

INSERT INTO public.faq (id, question, answer, category) VALUES (1, 'How do I reset my password?', 'Open Settings > Account and choose "Reset password".', 'account');
INSERT INTO public.faq (id, question, answer, category) VALUES (2, 'Can I export my data?', E'Yes.\nGo to Settings > Export; it''s a CSV or JSON file.', 'data'), (3, 'Is there a dark mode?', $$Yes: View > Theme > Dark. It's 'dark', not "night".$$, NULL);
INSERT INTO public.faq (id, question, answer, category) VALUES (4, 'Broken', 'missing paren', 'x';
INSERT INTO public.other (id) VALUES (1);

--
-- Data for Name: faq_archive; Type: TABLE DATA; Schema: public; Owner: helpdesk
--

COPY public.faq (id, question, answer, category) FROM stdin;
5	How do I invite a colleague?	Settings > Team > Invite.\nThey get an e-mail.	team
6	What does \\N mean?	\N	\N
\.

--
-- PostgreSQL database dump complete
--
