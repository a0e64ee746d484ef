-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: db.internal    Database: helpdesk
-- ------------------------------------------------------
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;

DROP TABLE IF EXISTS `macros`;
CREATE TABLE `macros` (
  `id` int NOT NULL AUTO_INCREMENT,
  `title` varchar(200) NOT NULL,
  `customer_question` text,
  `agent_reply` mediumtext,
  `language` char(2) DEFAULT 'en',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

LOCK TABLES `macros` WRITE;
/*!40000 ALTER TABLE `macros` DISABLE KEYS */;
INSERT INTO `macros` VALUES (1,'Password reset','I can\'t log in, I forgot my password.','No problem! Use \"Forgot password\" on the sign-in page; the reset link is valid for 30 minutes.\nIf it doesn\'t arrive, check your spam folder.','en'),(2,'Refund request','Can I get a refund for my annual plan?','Annual plans can be refunded within 14 days of purchase. After that we refund the unused months pro rata.','en'),(3,'Slow dashboard','The dashboard takes a minute to load.','Dashboards with more than 50 widgets load slowly. Split it into two dashboards, or turn on \"Load widgets on scroll\" under Settings > Performance.','en');
INSERT INTO `macros` VALUES (4,'Delete workspace','How do I delete my workspace?','As an AI language model, I do not have access to your workspace. However, an owner can delete it under Settings > Workspace > Delete. Is there anything else I can help with?','en'),(5,'Passwort','Ich habe mein Passwort vergessen.','Nutzen Sie \"Passwort vergessen\" auf der Anmeldeseite; der Link ist 30 Minuten gültig.','de');
INSERT INTO `macros` VALUES (6,'Refund request','Can I get a refund for my annual plan?','Annual plans can be refunded within 14 days of purchase. After that we refund the unused months pro rata.','en');
INSERT INTO `macros` VALUES (7,'Broken',,'a row the parser rejects','en');
/*!40000 ALTER TABLE `macros` ENABLE KEYS */;
UNLOCK TABLES;

DROP TABLE IF EXISTS `agents`;
CREATE TABLE `agents` (`id` int, `email` varchar(200));
INSERT INTO `agents` VALUES (1,'sam@example.com'),(2,'kim@example.com');
-- Dump completed on 2026-11-01 10:00:00
