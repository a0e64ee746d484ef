-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: helpdesk
-- ------------------------------------------------------
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;

--
-- Table structure for table `faq`
--

DROP TABLE IF EXISTS `faq`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
CREATE TABLE `faq` (
  `id` int NOT NULL AUTO_INCREMENT,
  `question` text NOT NULL,
  `answer` mediumtext,
  `category` varchar(64) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=9 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `faq`
--

LOCK TABLES `faq` WRITE;
/*!40000 ALTER TABLE `faq` DISABLE KEYS */;
INSERT INTO `faq` VALUES (1,'How do I reset my password?','Open Settings > Account and choose \"Reset password\"; the link is valid for 30 minutes.','account'),(2,'Can I export my data?','Yes.\nGo to Settings > Export, pick CSV or JSON, and we e-mail you a link.','data'),(3,'What\'s the refund policy?','Annual plans: 14 days. It\'s pro-rated after that; see \\\\billing\\\\refunds.',NULL);
INSERT INTO `faq` VALUES (4,'Does it work offline?','Partly; drafts are kept on the device; # and -- inside strings are not comments.','app');
INSERT INTO `faq` VALUES (5,,'a broken row','x');
/*!40000 ALTER TABLE `faq` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `users`
--

CREATE TABLE `users` (`id` int, `email` varchar(200));
INSERT INTO `users` VALUES (1,'alice@example.com'),(2,'bob@example.com');
INSERT INTO `faq` (`question`, `answer`, `id`, `category`) VALUES ('Where is the API key?','Settings > Developers.',6,'api');
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
-- Dump completed on 2026-11-01 10:00:00
