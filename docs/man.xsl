<?xml version="1.0"?>
<!-- Turns ocf-metadata/IPaddr.xml into the ocf_rust_IPaddr(7) man page.
     Copyright the ocf-ipaddr authors. License: GPL-2.0-or-later. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text" encoding="UTF-8"/>
<xsl:param name="date" select="''"/>
<xsl:param name="version" select="''"/>

<!-- troff: a backslash must be doubled; a line must not start with . or '. -->
<xsl:template name="escape">
  <xsl:param name="text"/>
  <xsl:variable name="slashes">
    <xsl:call-template name="replace">
      <xsl:with-param name="text" select="$text"/>
      <xsl:with-param name="from" select="'\'"/>
      <xsl:with-param name="to" select="'\e'"/>
    </xsl:call-template>
  </xsl:variable>
  <xsl:if test="starts-with($slashes, '.') or starts-with($slashes, &quot;'&quot;)">\&amp;</xsl:if>
  <xsl:value-of select="$slashes"/>
</xsl:template>

<xsl:template name="replace">
  <xsl:param name="text"/>
  <xsl:param name="from"/>
  <xsl:param name="to"/>
  <xsl:choose>
    <xsl:when test="contains($text, $from)">
      <xsl:value-of select="substring-before($text, $from)"/>
      <xsl:value-of select="$to"/>
      <xsl:call-template name="replace">
        <xsl:with-param name="text" select="substring-after($text, $from)"/>
        <xsl:with-param name="from" select="$from"/>
        <xsl:with-param name="to" select="$to"/>
      </xsl:call-template>
    </xsl:when>
    <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
  </xsl:choose>
</xsl:template>

<xsl:template name="paragraph">
  <xsl:param name="text"/>
  <xsl:call-template name="escape">
    <xsl:with-param name="text" select="normalize-space($text)"/>
  </xsl:call-template>
  <xsl:text>&#10;</xsl:text>
</xsl:template>

<xsl:template match="/resource-agent">
  <xsl:text>.TH OCF_RUST_IPADDR 7 "</xsl:text><xsl:value-of select="$date"/>
  <xsl:text>" "ocf-ipaddr </xsl:text><xsl:value-of select="$version"/>
  <xsl:text>" "OCF resource agents"&#10;</xsl:text>
  <xsl:text>.SH NAME&#10;ocf_rust_IPaddr \- </xsl:text>
  <xsl:call-template name="paragraph"><xsl:with-param name="text" select="shortdesc"/></xsl:call-template>
  <xsl:text>.SH SYNOPSIS&#10;.B IPaddr&#10;.RI [ start | stop | monitor | status | recover | validate\-all | meta\-data | usage | explain ]&#10;.RI [ \-\-parameter " " value " ...]"&#10;</xsl:text>
  <xsl:text>.SH DESCRIPTION&#10;</xsl:text>
  <xsl:call-template name="paragraph"><xsl:with-param name="text" select="longdesc"/></xsl:call-template>
  <xsl:text>.PP&#10;Parameters are read from OCF_RESKEY_&lt;name&gt; environment variables, as Pacemaker passes them, or from the matching command-line flag (\-\-cidr\-netmask for cidr_netmask); a flag wins over the environment.&#10;</xsl:text>
  <xsl:text>.SH "SUPPORTED PARAMETERS"&#10;</xsl:text>
  <xsl:apply-templates select="parameters/parameter"/>
  <xsl:text>.SH "SUPPORTED ACTIONS"&#10;This resource agent supports the following actions (operations):&#10;</xsl:text>
  <xsl:apply-templates select="actions/action"/>
  <xsl:text>.SH "EXIT STATUS"&#10;0 success, 1 generic error, 2 bad arguments, 3 unimplemented action, 4 insufficient privileges, 5 missing on this node, 6 not configured, 7 not running. A failure prints one line starting with ocf\-exit\-reason: on standard error, which Pacemaker shows in crm_mon.&#10;</xsl:text>
  <xsl:text>.SH "EXAMPLE CRM SHELL"&#10;.nf&#10;primitive vip ocf:rust:IPaddr \e&#10;  params ip=192.0.2.50 cidr_netmask=24 \e&#10;  op monitor interval=10s timeout=20s&#10;.fi&#10;</xsl:text>
  <xsl:text>.SH "EXAMPLE PCS"&#10;.nf&#10;pcs resource create vip ocf:rust:IPaddr ip=192.0.2.50 cidr_netmask=24 \e&#10;  op monitor interval=10s timeout=20s&#10;.fi&#10;</xsl:text>
  <xsl:text>.SH "EXAMPLE BY HAND"&#10;.nf&#10;IPaddr start \-\-ip 192.0.2.50 \-\-cidr\-netmask 24 \-\-nic eth0 \-\-debug&#10;.fi&#10;</xsl:text>
  <xsl:text>.SH "SEE ALSO"&#10;ocf_heartbeat_IPaddr2(7), crm(8), pcs(8), ip\-address(8)&#10;.PP&#10;/usr/share/doc/ocf\-ipaddr/ holds the migration guide from IPaddr2, the troubleshooting guide and the design notes.&#10;</xsl:text>
</xsl:template>

<xsl:template match="parameter">
  <xsl:text>.TP&#10;.B </xsl:text><xsl:value-of select="@name"/>
  <xsl:if test="@required = '1'"><xsl:text> (required)</xsl:text></xsl:if>
  <xsl:if test="@unique = '1'"><xsl:text> (unique)</xsl:text></xsl:if>
  <xsl:text>&#10;</xsl:text>
  <xsl:call-template name="paragraph"><xsl:with-param name="text" select="longdesc"/></xsl:call-template>
  <xsl:text>.br&#10;(</xsl:text><xsl:value-of select="content/@type"/>
  <xsl:choose>
    <xsl:when test="string-length(content/@default) &gt; 0">
      <xsl:text>, default </xsl:text>
      <xsl:call-template name="escape"><xsl:with-param name="text" select="content/@default"/></xsl:call-template>
    </xsl:when>
    <xsl:otherwise><xsl:text>, no default</xsl:text></xsl:otherwise>
  </xsl:choose>
  <xsl:text>; flag \-\-</xsl:text>
  <xsl:call-template name="replace">
    <xsl:with-param name="text" select="@name"/>
    <xsl:with-param name="from" select="'_'"/>
    <xsl:with-param name="to" select="'\-'"/>
  </xsl:call-template>
  <xsl:text>)&#10;</xsl:text>
</xsl:template>

<xsl:template match="action">
  <xsl:text>.TP&#10;.B </xsl:text><xsl:value-of select="@name"/><xsl:text>&#10;</xsl:text>
  <xsl:text>timeout </xsl:text><xsl:value-of select="@timeout"/>
  <xsl:if test="@interval"><xsl:text>, interval </xsl:text><xsl:value-of select="@interval"/></xsl:if>
  <xsl:if test="@depth"><xsl:text>, depth </xsl:text><xsl:value-of select="@depth"/></xsl:if>
  <xsl:text>&#10;</xsl:text>
</xsl:template>
</xsl:stylesheet>
