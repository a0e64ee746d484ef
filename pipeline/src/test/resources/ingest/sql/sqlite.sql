PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE faq(id INTEGER PRIMARY KEY, question TEXT NOT NULL, answer TEXT, category TEXT);
INSERT INTO faq VALUES(1,'How do I reset my password?','Open Settings > Account and choose "Reset password".','account');
INSERT INTO faq VALUES(2,'Can I export my data?',replace('Yes.\nGo to Settings > Export.','\n',char(10)),'data');
INSERT INTO faq VALUES(3,'Hex?',X'48656C6C6F','misc');
CREATE TABLE sqlite_sequence(name,seq);
COMMIT;
