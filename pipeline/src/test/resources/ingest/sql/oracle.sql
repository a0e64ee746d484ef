--------------------------------------------------------
--  File created - Sunday-November-01-2026
--------------------------------------------------------
SET DEFINE OFF;
REM INSERTING into HELPDESK.FAQ
Insert into HELPDESK.FAQ (ID,QUESTION,ANSWER,CATEGORY) values ('1','How do I reset my password?','Open Settings > Account and choose "Reset password".','account');
Insert into HELPDESK.FAQ (ID,QUESTION,ANSWER,CATEGORY) values ('2','What''s the refund policy?',q'[Annual plans: 14 days; it's pro-rated after that.]',null);
Insert into HELPDESK.FAQ (ID,QUESTION,ANSWER,CATEGORY) values ('3','When did 4.0 ship?',to_date('05-JAN-26','DD-MON-RR'),'release');
BEGIN
  NULL;
END;
/
