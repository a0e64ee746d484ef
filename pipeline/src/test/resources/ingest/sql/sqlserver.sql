USE [helpdesk]
GO
/****** Object:  Table [dbo].[faq]    Script Date: 11/1/2026 10:00:00 AM ******/
SET ANSI_NULLS ON
GO
SET QUOTED_IDENTIFIER ON
GO
CREATE TABLE [dbo].[faq](
	[id] [int] IDENTITY(1,1) NOT NULL,
	[question] [nvarchar](max) NOT NULL,
	[answer] [nvarchar](max) NULL,
	[category] [nvarchar](64) NULL
) ON [PRIMARY] TEXTIMAGE_ON [PRIMARY]
GO
SET IDENTITY_INSERT [dbo].[faq] ON 

INSERT [dbo].[faq] ([id], [question], [answer], [category]) VALUES (1, N'How do I reset my password?', N'Open Settings > Account and choose "Reset password".', N'account')
INSERT [dbo].[faq] ([id], [question], [answer], [category]) VALUES (2, N'What''s new in 4.0?', N'Teams, SSO and [beta] reports; see the release notes.', NULL), (3, N'When was the account created?', CAST(N'2026-01-05T10:00:00.000' AS DateTime), N'account')
GO
INSERT [dbo].[faq] ([id], [question], [answer], [category]) VALUES (4, N'Broken, N'x', N'y')
GO
SET IDENTITY_INSERT [dbo].[faq] OFF
GO
